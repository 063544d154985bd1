"""A store that hangs (issue 29 §3): every store call is bounded, and a promotion past the fetch deadline
fails with a clear timeout instead of holding the request. The store is a SeaweedFS of this module's own,
frozen with SIGSTOP (the session's instance serves other tests)."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from rest_framework.test import APIClient

from models_registry import services
from models_registry.models import ModelVersion, PromotionJob, RegisteredModel
from models_registry.storage.s3 import S3Store
from tests.servers.seaweedfs import SeaweedFS
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]

DEADLINE = 2.0


@pytest.fixture(scope="module")
def own_seaweedfs(tmp_path_factory) -> Iterator[SeaweedFS]:
    server = SeaweedFS(tmp_path_factory.mktemp("frozen-seaweedfs")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def frozen_store_settings(settings, own_seaweedfs):
    endpoint = own_seaweedfs.endpoint
    settings.S3_ENDPOINT_URL = endpoint.endpoint_url
    settings.S3_REGION = endpoint.region
    settings.S3_ACCESS_KEY = endpoint.access_key
    settings.S3_SECRET_KEY = endpoint.secret_key
    settings.S3_BUCKET = f"atlas-frozen-{secrets.token_hex(6)}"
    settings.ATLAS_STORE_CONNECT_SECONDS = 1
    settings.ATLAS_STORE_READ_SECONDS = 1
    settings.ATLAS_FETCH_DEADLINE_SECONDS = DEADLINE
    settings.ADMIN_TOKEN = "tok"
    S3Store().ensure_bucket()
    return settings


@contextmanager
def frozen(server: SeaweedFS) -> Iterator[None]:
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(server.process.pid, signal.SIGCONT)


@pytest.fixture
def version_in_s3(frozen_store_settings, artifact) -> ModelVersion:
    return services.model_version_register(
        model_name="answers",
        version="1.0.0",
        source=artifact(1),
        runtime="json_answer",
        storage="s3",
        actor="tester",
    )


def _client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer tok")
    return client


def test_a_promotion_through_a_frozen_store_is_a_504_within_the_fetch_deadline(own_seaweedfs, version_in_s3):
    # Given a version in S3, not in this replica's cache, the views imported, and the store frozen
    assert _client().get(f"/api/v1/registry/versions/{version_in_s3.pk}/").status_code == 200
    with frozen(own_seaweedfs):
        # When it is promoted synchronously
        started = time.monotonic()
        response = _client().post(f"/api/v1/registry/versions/{version_in_s3.pk}/promote/", {}, format="json")
        elapsed = time.monotonic() - started

    # Then the caller hears a timeout soon after the deadline, and nothing moved
    assert (response.status_code, response.json()["error"]) == (504, "store_timeout")
    assert "did not finish within 2 s (ATLAS_FETCH_DEADLINE_SECONDS)" in response.json()["detail"]
    assert DEADLINE <= elapsed < DEADLINE + 1.5, elapsed
    assert RegisteredModel.objects.get(name="answers").active_version is None


def test_a_promotion_job_through_a_frozen_store_fails_with_the_timeout(
    own_seaweedfs, version_in_s3, start_task_worker, settings
):
    # Given a task worker with this store and deadline, the store frozen, and a promotion asked in the background
    names = ("S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET")
    timeouts = ("ATLAS_STORE_CONNECT_SECONDS", "ATLAS_STORE_READ_SECONDS", "ATLAS_FETCH_DEADLINE_SECONDS")
    start_task_worker(
        env={name: str(getattr(settings, name)) for name in names},
        settings={name: getattr(settings, name) for name in timeouts},
    )
    with frozen(own_seaweedfs):
        response = _client().post(
            f"/api/v1/registry/versions/{version_in_s3.pk}/promote/", {}, format="json", HTTP_PREFER="respond-async"
        )
        assert response.status_code == 202

        # When the deadline passes, then the job has failed with the timeout as its refusal
        job = wait_until(
            lambda: PromotionJob.objects.filter(state=PromotionJob.State.FAILED).first(),
            timeout=DEADLINE + 10,
            what="the job to fail",
        )
    assert "did not finish within 2 s (ATLAS_FETCH_DEADLINE_SECONDS)" in job.detail


def test_once_the_store_thaws_the_same_promotion_succeeds(own_seaweedfs, version_in_s3):
    # Given a promotion that timed out while the store was frozen
    with frozen(own_seaweedfs):
        assert _client().post(f"/api/v1/registry/versions/{version_in_s3.pk}/promote/", {}).status_code == 504

    # When it is asked again after the store thawed, then it promotes
    response = _client().post(f"/api/v1/registry/versions/{version_in_s3.pk}/promote/", {}, format="json")
    assert response.status_code == 200, response.json()
    assert RegisteredModel.objects.get(name="answers").active_version_id == version_in_s3.pk
