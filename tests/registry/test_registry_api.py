"""The registry's REST API under /api/v1/registry/ (staff users and the admin token)."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from models_registry import services
from models_registry.models import RegisteredModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(settings):
    settings.ADMIN_TOKEN = "tok"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer tok")
    return client


@pytest.fixture
def staff_client():
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


def test_anonymous_users_cannot_list_models():
    response = APIClient().get("/api/v1/registry/models/")

    assert response.status_code == 403  # session auth comes first: DRF answers 403, not 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_upload_with_activate_registers_and_promotes(token_client):
    payload = b'{"answer": 5}'

    response = token_client.post(
        "/api/v1/registry/versions/",
        {
            "model": "answers",
            "version": "1.0.0",
            "runtime": "json_answer",
            "file": SimpleUploadedFile("five.json", payload),
            "metadata": json.dumps({"classes": 1}),
            "activate": "true",
        },
        format="multipart",
    )

    body = response.json()
    assert response.status_code == 201
    assert (body["sha256"], body["size_bytes"], body["is_active"], body["metadata"]) == (
        hashlib.sha256(payload).hexdigest(),
        len(payload),
        True,
        {"classes": 1},
    )


def test_staff_without_the_permission_gets_403_on_promote(staff_client, register):
    version = register("1.0.0")

    response = staff_client.post(f"/api/v1/registry/versions/{version.pk}/promote/", {}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "You need the permission 'models_registry.promote_modelversion'."}


def test_staff_with_the_permission_promotes_and_rolls_back(staff_client, register):
    staff_client.user.user_permissions.add(
        Permission.objects.get(codename="promote_modelversion"),
        Permission.objects.get(codename="rollback_registeredmodel"),
    )
    first, second = register("1.0.0"), register("2.0.0")
    staff_client.post(f"/api/v1/registry/versions/{first.pk}/promote/", {}, format="json")
    staff_client.post(f"/api/v1/registry/versions/{second.pk}/promote/", {"reason": "better"}, format="json")

    response = staff_client.post("/api/v1/registry/models/answers/rollback/", {"reason": "oops"}, format="json")

    assert response.json()["action"] == "rollback"
    assert (response.json()["from_version"], response.json()["to_version"]) == ("2.0.0", "1.0.0")
    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk


def test_history_lists_moves_newest_first(token_client, register):
    first, second = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=first, actor="a")
    services.model_version_promote(version=second, actor="b")

    events = token_client.get("/api/v1/registry/models/answers/history/").json()

    assert [(e["actor"], e["from_version"], e["to_version"]) for e in events] == [
        ("b", "1.0.0", "2.0.0"),
        ("a", None, "1.0.0"),
    ]


def test_promote_of_a_failing_version_is_422_with_the_reason(token_client, register):
    broken = register("1.0.0", fail_warm_up=True)

    response = token_client.post(f"/api/v1/registry/versions/{broken.pk}/promote/", {}, format="json")

    assert response.status_code == 422
    assert "warm-up forward pass failed" in response.json()["detail"]


def test_retire_of_the_active_version_is_refused(token_client, register):
    version = register("1.0.0")
    services.model_version_promote(version=version, actor="a")

    response = token_client.post(f"/api/v1/registry/versions/{version.pk}/retire/", {}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == "answers@1.0.0 is active; promote another version before retiring it."


def test_staff_without_the_add_permission_cannot_upload(staff_client, register):
    register("1.0.0")

    response = staff_client.post(
        "/api/v1/registry/versions/",
        {"model": "answers", "version": "2.0.0", "file": SimpleUploadedFile("a.json", b'{"answer": 1}')},
        format="multipart",
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "You need the permission 'models_registry.add_modelversion'."}


def test_an_upload_over_the_limit_is_413(token_client, settings):
    settings.ATLAS_MAX_MODEL_UPLOAD_MB = 0

    response = token_client.post(
        "/api/v1/registry/versions/",
        {
            "model": "answers",
            "version": "1.0.0",
            "runtime": "json_answer",
            "file": SimpleUploadedFile("a.json", b'{"answer": 1}'),
        },
        format="multipart",
    )

    assert response.status_code == 413
    assert "ATLAS_MAX_MODEL_UPLOAD_MB" in response.json()["detail"]


def test_versions_filter_by_model_and_status(token_client, register):
    register("1.0.0")
    active = register("2.0.0")
    register("1.0.0", model="other")
    services.model_version_promote(version=active, actor="a")

    listed = token_client.get("/api/v1/registry/versions/", {"model": "answers", "status": "active"}).json()

    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(v["model"], v["version"]) for v in rows] == [("answers", "2.0.0")]


def test_an_unknown_status_filter_is_400_naming_the_parameter(token_client):
    response = token_client.get("/api/v1/registry/versions/", {"status": "shiny"})

    assert response.status_code == 400
    assert list(response.json()) == ["status"]


def test_history_filters_by_model_and_action(token_client, register):
    first, second = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=first, actor="a")
    services.model_version_promote(version=second, actor="a")
    services.model_rollback(model=RegisteredModel.objects.get(name="answers"), actor="b")

    events = token_client.get("/api/v1/registry/history/", {"model": "answers", "action": "rollback"}).json()

    rows = events["results"] if isinstance(events, dict) else events
    assert [(e["actor"], e["to_version"]) for e in rows] == [("b", "1.0.0")]


def test_a_reason_that_is_a_number_is_refused_not_stored_as_text(token_client, register):
    version = register("1.0.0")

    response = token_client.post(f"/api/v1/registry/versions/{version.pk}/trust/", {"reason": 0}, format="json")

    assert response.status_code == 400
    assert response.json() == {"reason": ["Not a valid string."]}


def test_a_promote_flag_that_is_a_number_is_refused(token_client, register):
    version = register("1.0.0")

    response = token_client.post(
        f"/api/v1/registry/versions/{version.pk}/promote/", {"force_download": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"force_download": ["Must be a valid boolean."]}
    assert RegisteredModel.objects.get(name="answers").active_version_id is None


def test_a_promote_form_takes_the_words_a_form_sends_for_its_flags(token_client, register):
    version = register("1.0.0")

    response = token_client.post(
        f"/api/v1/registry/versions/{version.pk}/promote/", {"force_download": "on", "force_signature": "0"}
    )

    assert response.status_code == 200
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk
