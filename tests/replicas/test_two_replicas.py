"""Two replicas (three workers each, separate cache folders) on one PostgreSQL and one SeaweedFS: a
promotion through the admin API reaches every worker of both, under the Procfile's server (granian), gunicorn
with its config and plain gunicorn."""

from __future__ import annotations

import time

import pytest
import requests
from django.db import connection

from models_registry import services
from tests.factories import write_digit_npz
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

MODEL = "digit_classifier"
pytestmark = [
    pytest.mark.servers,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY across replicas needs PostgreSQL"),
]

TOKEN = "replica-admin-token"
PIXELS = {"pixels": [0.0] * 784}


def all_on(pids: set[int], version: str) -> bool:
    seen = worker_versions(MODEL, pids)
    return len(seen) == len(pids) and set(seen.values()) == {version}


@pytest.mark.parametrize("server", ["procfile", "gunicorn", "plain-gunicorn"])
def test_a_promotion_through_the_admin_api_reaches_every_worker_of_both_replicas(
    s3_settings, seaweedfs, start_replica, tmp_path, server
):
    # Given two versions in S3 and the first one active
    v1 = services.model_version_register(
        model_name="digit_classifier",
        version="1.0.0",
        source=write_digit_npz(tmp_path / "a.npz", seed=1),
        runtime="numpy_mlp",
        actor="test",
    )
    services.model_version_register(
        model_name="digit_classifier",
        version="1.1.0",
        source=write_digit_npz(tmp_path / "b.npz", seed=2),
        actor="test",
    )
    services.model_version_promote(version=v1, actor="test")
    env = {
        "ADMIN_TOKEN": TOKEN,
        "MODEL_STORAGE_TYPE": "s3",
        "S3_ENDPOINT_URL": seaweedfs.endpoint_url,
        "S3_ACCESS_KEY": seaweedfs.access_key,
        "S3_SECRET_KEY": seaweedfs.secret_key,
        "S3_REGION": seaweedfs.region,
        "S3_BUCKET": s3_settings.S3_BUCKET,
        # The poll is slower than the test's deadline: only LISTEN/NOTIFY can make it in time.
        "ATLAS_RELOAD_POLL_SECONDS": "60",
    }
    # And two replicas of three workers, all serving it
    first = start_replica(workers=3, env=env, name="first", server=server)
    second = start_replica(workers=3, env=env, name="second", server=server)
    pids = first.worker_pids() | second.worker_pids()
    assert len(pids) == 6
    if server == "plain-gunicorn":  # no hook: each worker starts serving on its first request
        for replica in (first, second):
            replica.wake_every_worker(lambda p: all_on(p, "1.0.0"))
    wait_until(lambda: all_on(pids, "1.0.0"), timeout=60, what="every worker on 1.0.0")

    # When the reload goes to one worker of the first replica
    started = time.monotonic()
    response = requests.post(
        f"{first.url}/api/v1/admin/reload-models",
        json={"model_type": "digit_classifier", "version": "1.1.0"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )

    # Then it answers once it serves the new version, and every worker of both replicas follows
    assert response.status_code == 200, response.text
    assert (response.json()["success"], response.json()["version"]) == (True, "1.1.0")
    wait_until(
        lambda: all_on(pids, "1.1.0"),
        timeout=15,
        what=f"every worker on 1.1.0: {worker_versions(MODEL, pids)}",
    )
    print(
        f"\nreload call answered in {response.elapsed.total_seconds():.3f} s; "
        f"call to last worker switched: {time.monotonic() - started:.3f} s"
    )
    for replica in (first, second):
        for _ in range(12):
            answer = requests.post(f"{replica.url}/predict", json=PIXELS, timeout=10).json()
            assert (answer["model"], answer["version"]) == ("digit_classifier", "1.1.0")
    health = requests.get(f"{second.url}/api/v1/admin/health", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert health["models"]["digit_classifier"]["workers"] == {"total": 6, "on_active": 6}
    assert health["status"] == "healthy"
