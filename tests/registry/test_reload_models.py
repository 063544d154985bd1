"""`reload-models` as the threat-intelligence service's deployment guide uses it (issue 25 §1).

`"version": "latest"` means the bytes now at `models/<name>/latest/` in the store (Atlas keeps them equal to
the active version's after every move); no version, or `force_download` alone, re-verifies the active
version and never moves a pointer; an explicit version string is promoted, as before. S3 is SeaweedFS.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from rest_framework.test import APIClient

from models_registry import services
from models_registry.models import ActivationEvent, ModelVersion, RegisteredModel
from models_registry.storage.s3 import S3Store
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]  # the latest/ writer's own connection

TOKEN = "s3cret-admin-token"


@pytest.fixture(autouse=True)
def admin_token(settings):
    settings.ADMIN_TOKEN = TOKEN


@pytest.fixture
def api():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return client


def _active(model: str = "answers") -> str | None:
    return RegisteredModel.objects.get(name=model).active_version.version  # type: ignore[union-attr]


def _promote(version: ModelVersion) -> None:
    services.model_version_promote(version=version, actor="tester")
    services.store_bookkeeping_wait()  # latest/ now holds the active version's bytes


def _put_latest(settings, version: ModelVersion, body: bytes) -> None:
    """What the guide tells an operator to do: `aws s3 cp <file> s3://bucket/models/<name>/latest/<file>`."""
    S3Store().client.put_object(Bucket=settings.S3_BUCKET, Key=f"models/answers/latest/{version.filename}", Body=body)


def test_latest_equal_to_the_active_bytes_moves_nothing(api, register, s3_settings):
    # Given 1.0.0 active (latest/ holds its bytes) and a higher 2.0.0 registered
    old = register("1.0.0", answer="old")
    register("2.0.0", answer="new")
    _promote(old)

    # When the guide's call asks for "latest"
    response = api.post(
        "/api/v1/admin/reload-models",
        {"model_type": "answers", "version": "latest", "force_download": True},
        format="json",
    )

    # Then the active version is reloaded in place: no move, no new version
    assert response.status_code == 200, response.json()
    assert (response.json()["success"], response.json()["version"]) == (True, "1.0.0")
    assert _active() == "1.0.0"
    assert sorted(RegisteredModel.objects.get(name="answers").versions.values_list("version", flat=True)) == [
        "1.0.0",
        "2.0.0",
    ]
    last = ActivationEvent.objects.order_by("-id").first()
    assert (last.action, last.from_version.version, last.to_version.version) == ("reload", "1.0.0", "1.0.0")


def test_latest_holding_a_known_versions_bytes_promotes_that_version(api, register, s3_settings):
    # Given 2.0.0 active and an operator who copied 1.0.0's file into latest/
    old = register("1.0.0", answer="old")
    new = register("2.0.0", answer="new")
    _promote(new)
    _put_latest(s3_settings, new, json.dumps({"answer": "old"}).encode())

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "latest"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["success"], response.json()["version"]) == (True, "1.0.0")
    assert _active() == "1.0.0"
    assert RegisteredModel.objects.get(name="answers").versions.count() == 2
    assert ActivationEvent.objects.order_by("-id").values_list("action", "to_version")[0] == ("promote", old.pk)


def test_latest_holding_new_bytes_registers_and_promotes_them_audited(api, register, s3_settings):
    # Given 1.0.0 active and new weights uploaded to latest/ only, as the guide says
    current = register("1.0.0", answer="old")
    _promote(current)
    body = json.dumps({"answer": "retrained"}).encode()
    _put_latest(s3_settings, current, body)
    sha256 = hashlib.sha256(body).hexdigest()

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "latest"}, format="json")

    # Then the bytes become a new version (stored under its own key), promoted through the ordinary gates
    assert response.status_code == 200, response.json()
    name = f"latest-{sha256[:12]}"
    assert (response.json()["success"], response.json()["version"]) == (True, name)
    created = ModelVersion.objects.get(model__name="answers", version=name)
    assert (created.sha256, created.location, created.status) == (
        sha256,
        f"models/answers/{name}/{current.filename}",
        "active",
    )
    assert created.metadata == {
        "source": "reload-models",
        "copied_from": f"s3://{s3_settings.S3_BUCKET}/models/answers/latest/{current.filename}",
    }
    assert created.created_by == "admin-api"
    event = ActivationEvent.objects.order_by("-id").first()
    assert (event.action, event.from_version_id, event.to_version_id, event.actor) == (
        "promote",
        current.pk,
        created.pk,
        "admin-api",
    )
    assert event.details["source"] == "reload-models"


def test_new_bytes_uploaded_under_the_old_stems_latest_are_promoted(api, register, s3_settings, settings):
    # Given an alias (the old stem) and 1.0.0 active, whose copy Atlas keeps at models/answers/latest/
    settings.ATLAS_MODEL_ALIASES = {"oldstem": "answers"}
    current = register("1.0.0", answer="old")
    _promote(current)
    client, bucket = S3Store().client, s3_settings.S3_BUCKET
    kept = client.head_object(Bucket=bucket, Key=f"models/answers/latest/{current.filename}")["LastModified"]
    body = json.dumps({"answer": "retrained"}).encode()

    # And new weights uploaded where the old guide says (models/<stem>/latest/), after that copy
    def uploaded_after_the_copy() -> bool:  # S3 times have one-second steps: the upload must be the newest
        client.put_object(Bucket=bucket, Key="models/oldstem/latest/oldstem.json", Body=body)
        return client.head_object(Bucket=bucket, Key="models/oldstem/latest/oldstem.json")["LastModified"] > kept

    wait_until(uploaded_after_the_copy, timeout=5, interval=0.2, what="an upload newer than latest/'s copy")

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "latest"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["version"] == f"latest-{hashlib.sha256(body).hexdigest()[:12]}"
    assert _active() == response.json()["version"]


def test_latest_holding_bytes_that_fail_to_load_is_refused_and_nothing_moves(api, register, s3_settings):
    current = register("1.0.0", answer="old")
    _promote(current)
    _put_latest(s3_settings, current, b'{"not an answer": 1}')

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "latest"}, format="json")

    assert response.status_code == 422
    assert "not an answer file" in response.json()["detail"]
    assert _active() == "1.0.0"


def test_no_version_reverifies_the_active_version_and_never_moves(api, register, settings):
    # Given the local store, 1.0.0 active and a higher 2.0.0 (the Hippo-style case)
    old = register("1.0.0", answer="old")
    register("2.0.0", answer="new")
    services.model_version_promote(version=old, actor="tester")

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["success"], response.json()["version"]) == (True, "1.0.0")
    assert _active() == "1.0.0"
    assert ActivationEvent.objects.order_by("-id").values_list("action", flat=True)[0] == "reload"


def test_force_download_fetches_the_active_bytes_again_and_refuses_changed_ones(api, register, settings):
    # Given 1.0.0 active, loaded from a verified cache copy, and its file then altered in the store
    old = register("1.0.0", answer="old")
    register("2.0.0", answer="new")
    services.model_version_promote(version=old, actor="tester")
    (settings.MODEL_STORE_DIR / old.location).write_text('{"answer": "tampered"}')

    response = api.post("/api/v1/admin/reload-models", {"model_type": "all", "force_download": True}, format="json")

    # Then the fresh copy fails its sha256 and no pointer moves
    assert response.status_code == 422
    assert "sha256 mismatch" in response.json()["results"]["answers"]["message"]
    assert _active() == "1.0.0"


def test_latest_on_a_store_without_latest_is_a_clear_error(api, register, settings):
    old = register("1.0.0")
    register("2.0.0")
    services.model_version_promote(version=old, actor="tester")

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "latest"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "answers: 'latest' is the file in models/answers/latest/, and the local store keeps no latest/ "
        "copy: name the version to promote (or register the new file with register_model).",
        "available_versions": ["2.0.0", "1.0.0"],
    }
    assert _active() == "1.0.0"


def test_rollback_then_the_guides_force_redownload_keeps_every_model_where_it_is(api, register, settings):
    # Given answers promoted to 1.5.0 and rolled back to 1.4.0, and another model active below its highest
    v14, v15 = register("1.4.0", answer="a"), register("1.5.0", answer="b")
    other = register("1.0.0", answer="c", model="others")
    register("9.0.0", answer="d", model="others")
    services.model_version_promote(version=v14, actor="tester")
    services.model_version_promote(version=v15, actor="tester")
    services.model_rollback(model=RegisteredModel.objects.get(name="answers"), actor="tester")
    services.model_version_promote(version=other, actor="tester")

    response = api.post("/api/v1/admin/reload-models", {"model_type": "all", "force_download": True}, format="json")

    assert response.status_code == 200, response.json()
    assert {name: result["version"] for name, result in response.json()["results"].items()} == {
        "answers": "1.4.0",
        "others": "1.0.0",
    }
    assert (_active("answers"), _active("others")) == ("1.4.0", "1.0.0")


def test_latest_with_nothing_at_latest_on_s3_is_a_clear_error(api, register, s3_settings):
    register("1.0.0")  # registered, never promoted: Atlas wrote no latest/ copy

    response = api.post("/api/v1/admin/reload-models", {"model_type": "answers", "version": "latest"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"answers: 'latest' is the file in models/answers/latest/, and s3://{s3_settings.S3_BUCKET}/"
        "models/answers/latest/ holds no file: name the version to promote (or register the new file with "
        "register_model).",
        "available_versions": ["1.0.0"],
    }
