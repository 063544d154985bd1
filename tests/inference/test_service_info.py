"""The threat-intelligence service's info routes (GET /, GET /health, GET /api/v1/models/active) and its
per-endpoint rate limits, in process (LocMemCache); tests/replicas covers the limit shared over Redis."""

from __future__ import annotations

import json

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from inference.runtimes import threat_rules
from models_registry import services


@pytest.fixture
def active_threat(tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(threat_rules.default_taxonomy()))
    version = services.model_version_register(
        model_name="threat_classifier",
        version="2.0.0",
        source=path,
        runtime="threat_rules",
        metrics={"accuracy": 0.87},
        actor="t",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_promote(version=version, actor="t")
    return version


@pytest.mark.django_db
def test_root_answers_the_old_service_info_to_an_api_client():
    response = APIClient().get("/", HTTP_ACCEPT="*/*")

    body = response.json()
    assert body.pop("timestamp")
    assert body == {
        "service": "Atlas Intelligence",
        "version": "1.0.0",
        "environment": "test",
        "status": "operational",
        "documentation": "/docs",
        "health": "/health",
    }


@pytest.mark.django_db
def test_health_needs_no_token_and_says_which_models_have_an_active_version(active_threat):
    response = APIClient().get("/health")

    body = response.json()
    assert body.pop("timestamp")
    assert response.status_code == 200
    assert body == {
        "status": "healthy",
        "database": "healthy",
        "mode": "full",
        "services": {
            "threat_classifier": "operational",
            "visual_detector": "unavailable",
            "audio_classifier": "unavailable",
        },
        "version": "1.0.0",
    }


@pytest.mark.django_db
def test_models_active_lists_the_registrys_active_versions(active_threat):
    response = APIClient().get("/api/v1/models/active")

    body = response.json()
    assert list(body) == ["threat_classifier"]
    assert body["threat_classifier"]["version"] == "2.0.0"
    assert body["threat_classifier"]["accuracy"] == 0.87
    assert body["threat_classifier"]["last_updated"].startswith(str(active_threat.created_at.date()))


# --- rate limits -----------------------------------------------------------------------------------


def classify(client, ip="10.0.0.1"):
    return client.post("/api/v1/classify/threat", {"type": "text", "data": "a fight"}, format="json", REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_classify_answers_429_with_retry_after_past_30_a_minute(active_threat):
    client = APIClient()
    codes = [classify(client).status_code for _ in range(30)]

    refused = classify(client)

    assert codes == [200] * 30
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60


@pytest.mark.django_db
def test_the_limit_is_per_client_ip(active_threat):
    client = APIClient()
    for _ in range(30):
        classify(client, ip="10.0.0.1")

    assert classify(client, ip="10.0.0.1").status_code == 429
    assert classify(client, ip="10.0.0.2").status_code == 200


@pytest.mark.django_db
def test_rate_limit_per_minute_scales_every_limit(settings):
    from importlib import reload

    import atlas.settings as atlas_settings

    settings_env = {"RATE_LIMIT_PER_MINUTE": "10"}
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in settings_env.items():
                patch.setenv(key, value)
            reload(atlas_settings)
            rates = atlas_settings.ATLAS_THROTTLE_RATES
    finally:
        reload(atlas_settings)

    assert rates == {
        "classify": "3/min",
        "analyze": "2/min",
        "sait": "10/min",
        "feedback": "10/min",
        "admin_reload": "1/min",
        "health": "6/min",
        "info": "10/min",
        "models": "5/min",
        "detect": "3/min",
        "audio": "3/min",
    }


@pytest.mark.django_db
def test_health_is_limited_to_60_a_minute():
    client = APIClient()
    codes = {client.get("/health").status_code for _ in range(60)}

    assert codes == {200}
    assert client.get("/health").status_code == 429


def test_the_digit_predict_hot_path_has_no_rate_limit():
    view = resolve("/predict").func.view_class

    assert list(view().get_throttles()) == []


@pytest.mark.django_db
def test_a_client_cannot_escape_the_limit_by_sending_x_forwarded_for(active_threat):
    client = APIClient()
    for i in range(30):
        client.post(
            "/api/v1/classify/threat", {"type": "text", "data": "x"}, format="json", HTTP_X_FORWARDED_FOR=f"9.9.9.{i}"
        )

    response = client.post(
        "/api/v1/classify/threat", {"type": "text", "data": "x"}, format="json", HTTP_X_FORWARDED_FOR="8.8.8.8"
    )

    assert response.status_code == 429
