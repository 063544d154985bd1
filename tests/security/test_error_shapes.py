"""Issue 10, case 4: every error on an API path is JSON (the admin keeps its HTML pages), and no answer
names a folder of the server."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from rest_framework.test import APIClient

from atlas.http.error_views import server_error
from models_registry import services

pytestmark = pytest.mark.django_db

TOKEN = "error-shape-token"


@pytest.fixture
def token_client(settings):
    settings.ADMIN_TOKEN = TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return client


@pytest.mark.parametrize("url", ["/nowhere", "/api/v1/nothing/here", "/vocabulary/nope/", "/api/v1/registry/x/"])
def test_an_unknown_path_is_a_json_404_in_fastapis_shape(url):
    response = APIClient().get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not Found"}


def test_an_unknown_admin_page_keeps_the_admins_html_404():
    client = APIClient()
    client.force_login(User.objects.create_superuser("root", password="pw"))

    response = client.get("/admin/models_registry/nothing/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_is_a_json_405():
    response = APIClient().delete("/predict")

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}


def test_an_error_outside_the_apis_views_is_a_json_500():
    response = server_error(RequestFactory().get("/api/v1/detect"))

    assert response.status_code == 500
    assert json.loads(response.content) == {"detail": "Internal error; it has been logged.", "error": "internal_error"}


def test_admin_health_names_no_folder_of_the_server(token_client, settings):
    response = token_client.get("/api/v1/admin/health")

    assert response.status_code == 200
    assert response.json()["storage"] == {"type": "local", "bucket": None, "reachable": True, "error": None}
    assert str(settings.MODEL_CACHE_DIR) not in response.content.decode()


def test_a_load_failure_names_the_file_but_no_folder(token_client, settings, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx graph")
    services.model_version_register(
        model_name="visual_detector", version="1.0.0", source=broken, runtime="yolo", actor="t"
    )

    response = token_client.post(
        "/api/v1/admin/reload-models", {"model_type": "visual_detector", "version": "1.0.0"}, format="json"
    )
    listed = token_client.get("/api/v1/registry/versions/")

    assert response.status_code == 422
    assert "failed to load or warm up" in response.json()["detail"]
    for body in (response.content.decode(), listed.content.decode()):
        assert str(settings.MODEL_CACHE_DIR) not in body
        assert str(tmp_path) not in body
