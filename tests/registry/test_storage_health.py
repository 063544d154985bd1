"""Admin health answers in time when the store accepts connections and never answers (issue 9, case 6)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from rest_framework.test import APIClient

from models_registry import storage_health

pytestmark = pytest.mark.django_db

TOKEN = "health-token"


@pytest.fixture
def silent_endpoint():
    """A TCP server on loopback that accepts every connection and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()
    storage_health._in_flight = None


def test_admin_health_says_the_store_is_unreachable_when_it_does_not_answer_in_time(settings, silent_endpoint):
    # Given an S3 store whose endpoint accepts and never answers, and a 0.5 s bound on the check
    settings.ADMIN_TOKEN = TOKEN
    settings.MODEL_STORAGE_TYPE = "s3"
    settings.S3_ENDPOINT_URL = silent_endpoint
    settings.S3_BUCKET, settings.S3_ACCESS_KEY, settings.S3_SECRET_KEY = "models", "key", "secret"
    settings.ATLAS_STORAGE_CHECK_SECONDS = 0.5
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    # When health is asked
    started = time.monotonic()
    response = client.get("/api/v1/admin/health")
    elapsed = time.monotonic() - started

    # Then it answers within the bound (plus the rest of health), degraded, naming why
    assert elapsed < 3
    assert (response.status_code, response.json()["status"]) == (200, "degraded")
    assert response.json()["storage"] == {
        "type": "s3",
        "bucket": "models",
        "reachable": False,
        "error": "The s3 store did not answer within 0.5 s.",
    }
