"""Issue 10, case 7: the API schema tells the truth: nullable fields are nullable, the errors the layers in
front of every view give are documented, and the limits are stated."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_documents_400_and_every_body_413(schema):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if "400" not in operation["responses"] or (method == "post" and "413" not in operation["responses"])
    ]

    assert missing == []


def test_every_operation_that_needs_the_token_documents_401_403_and_admin_503(schema):
    for path, method, operation in operations(schema):
        if path.startswith("/api/v1/admin/"):
            assert {"401", "403", "503"} <= set(operation["responses"]), f"{method} {path}"
        if path.startswith("/api/v1/registry/"):
            assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"


def test_version_pointers_that_can_be_empty_are_nullable(schema):
    components = schema["components"]["schemas"]

    assert components["ActivationEvent"]["properties"]["from_version"]["nullable"] is True
    assert components["ActivationEvent"]["properties"]["to_version"]["nullable"] is True
    assert components["RegisteredModel"]["properties"]["active_version"]["nullable"] is True
    assert components["ModelVersion"]["properties"]["trusted_at"]["nullable"] is True


def test_the_media_limits_are_stated_in_the_operations(schema):
    audio = schema["paths"]["/api/v1/audio/classify"]["post"]["description"]
    detect = schema["paths"]["/api/v1/detect"]["post"]["description"]

    assert "ATLAS_MAX_AUDIO_SECONDS" in audio and "uncompressed PCM or float WAV only" in audio
    assert "ATLAS_MAX_IMAGE_PIXELS" in detect
