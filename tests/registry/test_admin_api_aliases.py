"""The old admin API's remaining drift: another Authorization scheme is 403 as it was, the old S3 stems
name the registered models in every admin path, and admin health names each model's type and device."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from models_registry import services

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-admin-token"


@pytest.fixture(autouse=True)
def admin_token(settings):
    settings.ADMIN_TOKEN = TOKEN
    settings.ATLAS_MODEL_ALIASES = {"yolov8m": "visual_detector", "sait_audio_classifier": "audio_classifier"}


@pytest.fixture
def api():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return client


@pytest.fixture
def detector(register):
    first = register("1.0.0", model="visual_detector")
    register("2.0.0", model="visual_detector")
    services.model_version_promote(version=first, actor="a")
    return first


def test_a_token_scheme_header_is_403_like_the_old_service():
    response = APIClient().get("/api/v1/admin/health", HTTP_AUTHORIZATION=f"Token {TOKEN}")

    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid admin token."}


def test_versions_accepts_the_old_s3_stem(api, detector):
    response = api.get("/api/v1/admin/models/versions/yolov8m")

    assert response.status_code == 200
    assert (response.json()["model_name"], response.json()["versions"]) == ("visual_detector", ["2.0.0", "1.0.0"])


def test_metadata_accepts_the_old_s3_stem(api, detector):
    response = api.get("/api/v1/admin/models/metadata/yolov8m")

    assert (response.json()["model_name"], response.json()["version"]) == ("visual_detector", "1.0.0")


def test_reload_accepts_the_old_s3_stem(api, detector, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/admin/reload-models", {"model_type": "yolov8m", "version": "2.0.0"}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == "2.0.0"
    detector.model.refresh_from_db()
    assert detector.model.active_version.version == "2.0.0"


def test_an_alias_of_another_configuration_is_unknown(api, detector, settings):
    settings.ATLAS_MODEL_ALIASES = {}

    assert api.get("/api/v1/admin/models/versions/yolov8m").status_code == 404


def test_admin_health_names_each_models_type_and_device(api, detector):
    model = api.get("/api/v1/admin/health").json()["models"]["visual_detector"]

    assert (model["type"], model["device"]) == ("json_answer", "cpu")


def test_reload_is_limited_to_10_a_minute(api, detector):
    body = {"model_type": "yolov8m", "version": "1.0.0"}
    codes = [api.post("/api/v1/admin/reload-models", body, format="json").status_code for _ in range(11)]

    assert codes == [200] * 10 + [429]
