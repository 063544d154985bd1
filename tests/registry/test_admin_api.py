"""The old service's admin API: same paths and shapes, Bearer ADMIN_TOKEN."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inference import model_cache
from models_registry import services
from models_registry.models import ActivationEvent, RegisteredModel, WorkerReport
from models_registry.services import worker_reports

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-admin-token"


@pytest.fixture(autouse=True)
def admin_token(settings):
    settings.ADMIN_TOKEN = TOKEN


@pytest.fixture
def api():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return client


def test_no_authorization_header_is_401_with_detail(register):
    response = APIClient().get("/api/v1/admin/health")

    assert response.status_code == 401
    assert response.json() == {"detail": "Send 'Authorization: Bearer <ADMIN_TOKEN>'."}


def test_a_malformed_header_is_401():
    response = APIClient().get("/api/v1/admin/health", HTTP_AUTHORIZATION="Bearer")

    assert response.status_code == 401
    assert response.json() == {"detail": "Malformed Authorization header; use 'Bearer <token>'."}


def test_a_wrong_token_is_403():
    response = APIClient().get("/api/v1/admin/health", HTTP_AUTHORIZATION="Bearer wrong")

    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid admin token."}


def test_an_unset_token_disables_the_api_with_503(settings, api):
    settings.ADMIN_TOKEN = ""

    response = api.get("/api/v1/admin/health")

    assert response.status_code == 503
    assert "ADMIN_TOKEN is not set" in response.json()["detail"]


def test_reload_of_a_named_version_promotes_it_and_serves_it_here(api, register, django_capture_on_commit_callbacks):
    register("v2.9.0", answer="old")
    register("v2.10.0", answer="new")
    model_cache.mark_serving()  # a serving process, as serving.start() marks it

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/admin/reload-models", {"model_type": "answers", "version": "v2.10.0"}, format="json"
        )

    body = response.json()
    assert response.status_code == 200
    assert (body["success"], body["model_type"], body["version"]) == (True, "answers", "v2.10.0")
    assert set(body) == {"success", "model_type", "version", "message", "reloaded_at", "results"}
    served = model_cache.snapshot()["answers"]  # installed by the request itself, not loaded lazily here
    assert (served.version, served.predictor.predict()) == ("v2.10.0", "new")
    assert ActivationEvent.objects.get().actor == "admin-api"


def test_reload_of_all_tries_every_model_and_reports_each_outcome(api, register, settings):
    register("1.0.0", answer="a1", model="alpha")
    bad = register("1.0.0", answer="b1", model="beta")
    register("1.0.0", answer="c1", model="gamma")
    (settings.MODEL_STORE_DIR / bad.location).write_text('{"answer": "tampered"}')

    response = api.post("/api/v1/admin/reload-models", {"model_type": "all", "version": "1.0.0"}, format="json")

    body = response.json()
    assert response.status_code == 422
    assert (body["success"], body["model_type"], body["version"]) == (False, "all", "1.0.0")
    assert {name: outcome["success"] for name, outcome in body["results"].items()} == {
        "alpha": True,
        "beta": False,
        "gamma": True,
    }
    assert "sha256 mismatch" in body["results"]["beta"]["message"]
    assert body["detail"] == "1 of 3 models did not reload: beta"
    actives = dict(RegisteredModel.objects.values_list("name", "active_version__version"))
    assert actives == {"alpha": "1.0.0", "beta": None, "gamma": "1.0.0"}


def test_reload_of_an_unknown_model_is_400_naming_the_models(api, register):
    register("1.0.0")

    response = api.post("/api/v1/admin/reload-models", {"model_type": "ghost"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown model_type 'ghost'.", "available_models": ["answers"]}


def test_reload_of_an_unknown_version_is_400_naming_the_versions(api, register):
    register("1.0.0")
    register("1.1.0")

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "9"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "answers has no version '9'.",
        "available_versions": ["1.1.0", "1.0.0"],
    }


def test_reload_of_a_corrupted_version_is_refused_and_the_old_keeps_serving(api, register, settings):
    good, bad = register("1.0.0", answer="good"), register("2.0.0", answer="bad")
    services.model_version_promote(version=good, actor="a")
    (settings.MODEL_STORE_DIR / bad.location).write_text('{"answer": "tampered"}')

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "2.0.0"}, format="json")

    assert response.status_code == 422
    assert response.json()["success"] is False
    assert "sha256 mismatch" in response.json()["message"]
    assert RegisteredModel.objects.get(name="answers").active_version_id == good.pk
    assert model_cache.get("answers").predictor.predict() == "good"


def test_versions_lists_newest_first_with_latest_and_active(api, register, settings):
    for text in ("1.0.0", "1.10.0", "1.9.0"):
        register(text)
    services.model_version_promote(
        version=RegisteredModel.objects.get(name="answers").versions.get(version="1.9.0"), actor="a"
    )

    response = api.get("/api/v1/admin/models/versions/answers")

    assert response.json() == {
        "model_name": "answers",
        "versions": ["1.10.0", "1.9.0", "1.0.0"],
        "latest": "1.10.0",
        "active": "1.9.0",
        "storage_type": "local",
    }


def test_versions_of_an_unknown_model_is_404(api):
    assert api.get("/api/v1/admin/models/versions/ghost").status_code == 404


def test_metadata_defaults_to_the_active_version(api, register):
    version = register("1.0.0")
    services.model_version_promote(version=version, actor="a")

    body = api.get("/api/v1/admin/models/metadata/answers").json()

    assert (body["version"], body["sha256"], body["accuracy"]) == ("1.0.0", version.sha256, None)
    assert body["file_size_mb"] == round(version.size_bytes / 1048576, 3)
    assert {"uploaded_at", "file_size_mb"} <= set(body)


def test_metadata_of_a_named_version(api, register):
    register("1.0.0")
    register("2.0.0")

    assert api.get("/api/v1/admin/models/metadata/answers?version=2.0.0").json()["version"] == "2.0.0"


def test_metadata_of_latest_is_the_active_version_as_the_old_latest_copy_and_metadata_json_are(api, register):
    # The old service's `latest` was the copy in models/<name>/latest/ and its metadata.json, both written with
    # the version served; Atlas keeps both equal to the active version, which need not be the highest.
    register("1.10.0")
    active = register("1.9.0")
    services.model_version_promote(version=active, actor="a")

    body = api.get("/api/v1/admin/models/metadata/answers?version=latest").json()

    assert (body["version"], body["sha256"]) == ("1.9.0", active.sha256)


def test_cache_clear_lists_the_files_and_loaded_models_keep_serving(api, register):
    version = register("1.0.0", answer="still here")
    services.model_version_promote(version=version, actor="a")
    loaded = model_cache.get("answers")

    response = api.post("/api/v1/admin/cache/clear")

    assert response.json()["cleared_files"] == [f"{version.sha256}.json"]
    assert response.json()["success"] is True
    assert model_cache.get("answers") is loaded
    assert loaded.predictor.predict() == "still here"


def test_health_reports_this_worker_on_the_active_version(api, register):
    version = register("1.0.0")
    services.model_version_promote(version=version, actor="a")
    model_cache.get("answers")

    body = api.get("/api/v1/admin/health").json()

    assert body["status"] == "healthy"
    assert body["models"]["answers"] == {
        "loaded": True,
        "type": "json_answer",
        "device": "cpu",
        "version": "1.0.0",
        "active_version": "1.0.0",
        "workers": {"total": 1, "on_active": 1},
        "errors": [],
    }
    assert set(body["system"]) == {"cpu_percent", "memory_percent", "disk_percent"}
    assert body["storage"]["type"] == "local"


def test_health_is_degraded_when_a_worker_serves_an_old_version(api, register):
    first, second = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=first, actor="a")
    model_cache.get("answers")
    # This process is not told (no on_commit): it still serves 1.0.0 while 2.0.0 is active.
    services.model_version_promote(version=second, actor="a")

    body = api.get("/api/v1/admin/health").json()

    assert body["status"] == "degraded"
    assert body["models"]["answers"]["workers"] == {"total": 1, "on_active": 0}


def test_admin_health_is_degraded_when_this_worker_serves_an_older_version(api, register):
    old, new = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=old, actor="a")
    services.model_version_promote(version=new, actor="a")
    # This worker's own report says 1.0.0, and its heartbeat is too old to count among the live workers.
    worker_reports.worker_report_save(
        host=socket.gethostname(), pid=os.getpid(), model_name="answers", version_id=old.pk, loaded_at=None
    )
    WorkerReport.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))

    body = api.get("/api/v1/admin/health").json()

    assert (body["status"], body["models"]["answers"]["version"], body["models"]["answers"]["active_version"]) == (
        "degraded",
        "1.0.0",
        "2.0.0",
    )


def test_a_promotion_in_a_process_that_serves_nothing_installs_no_predictor(
    api, register, django_capture_on_commit_callbacks
):
    # Given a process that has not started serving (the task worker, a management command)
    register("1.0.0", answer="only")

    # When it promotes a version
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "1.0.0"}, format="json")

    # Then the trial-loaded predictor is not kept in its model cache
    assert (response.status_code, model_cache.snapshot()) == (200, {})
