"""Issue 10, case 2: inputs that answered 500 answer a 4xx with the JSON error shape."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from atlas.request_guard import NUL_DETAIL

pytestmark = pytest.mark.django_db

TOKEN = "bad-input-token"
NUL_ANSWER = {"detail": NUL_DETAIL, "error": "nul_character"}


@pytest.fixture
def token_client(settings):
    settings.ADMIN_TOKEN = TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return client


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- a pixel that is a 400-digit integer -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/predict", "/activations"])
def test_a_400_digit_pixel_is_out_of_range_not_an_overflow(path):
    body = '{"pixels": [' + "9" * 400 + ", 0.5" * 783 + "]}"

    response = APIClient().post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "out_of_range",
        "detail": "pixels[0] is 9999999999999999999999999999999999999...; values must be between 0 and 1.",
    }


def test_an_id_filter_past_int64_matches_nothing_instead_of_overflowing():
    response = APIClient().get("/v1/dictionary/relations?word_id=179239858471576174592")

    assert response.status_code == 200
    assert (response.json()["data"], response.json()["total"]) == ([], 0)


# --- NUL characters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/vocabulary/words/?search=%00",
        "/vocabulary/words/?language=en%00",
        "/vocabulary/words/en/a%00b/",
        "/vocabulary/tags/?search=x%00",
        "/api/v1/registry/versions/?model=%00",
        "/api/v1/registry/history/?model=%00",
        "/api/v1/admin/models/metadata/answers?version=%00",
    ],
)
def test_a_nul_in_a_path_or_query_is_400_json(token_client, url):
    response = token_client.get(url)

    assert response.status_code == 400
    assert response.json() == NUL_ANSWER


def test_a_nul_in_a_form_field_is_400_json(token_client):
    response = token_client.post(
        "/api/v1/registry/versions/1/promote/", "reason=a%00b", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json() == NUL_ANSWER


def test_a_nul_in_a_json_string_is_400_json(token_client):
    response = token_client.post(
        "/vocabulary/words/",
        json.dumps({"word_text": "a\x00b", "language_code": "en"}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - a string holds a NUL character (\\u0000)."}


def test_a_nul_in_an_admin_api_field_is_400_json(token_client):
    response = token_client.post(
        "/api/v1/admin/reload-models", json.dumps({"model_type": "x\x00"}), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - a string holds a NUL character (\\u0000)."}


# --- absurdly nested JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/vocabulary/words/", "/api/v1/admin/reload-models", "/api/v1/registry/versions/1/promote/"],
)
def test_json_nested_50000_deep_is_400(token_client, url):
    response = token_client.post(url, deep_json(50_000), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested deeper than 100 levels."}


def test_json_nested_2000_deep_is_400_too(token_client):
    """Deep enough to overflow later (validating, rendering, storing) though it parses."""
    response = token_client.post("/vocabulary/words/", deep_json(2_000), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested deeper than 100 levels."}


# --- a file name longer than a disk allows ---------------------------------------------------------


def test_an_upload_named_past_255_bytes_is_refused_with_422(token_client):
    name = "é" * 200 + ".json"  # 200 characters Django keeps, 405 bytes no disk takes

    response = token_client.post(
        "/api/v1/registry/versions/",
        {"model": "answers", "version": "1.0.0", "runtime": "numpy_mlp", "file": SimpleUploadedFile(name, b"{}")},
        format="multipart",
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "The file name is 405 bytes long; at most 255 bytes (UTF-8)."}


def test_a_dictionary_body_that_is_not_json_is_400_json(token_client):
    response = token_client.post("/v1/dictionary/words", "word_text=a", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")
