"""POST /predict answered before Django (inference/hot_path.py): the same answer, headers included, and
everything it does not take handed to Django unchanged."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from atlas.wsgi import django_application
from inference.hot_path import REVIEWED_MIDDLEWARE, HotPredict
from tests.wsgi import call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_the_test_connection")]


def without_request_id(headers: dict) -> dict:
    return {name: value for name, value in headers.items() if name != "X-Request-ID"}


def test_the_middleware_is_the_list_the_hot_path_was_reviewed_against():
    assert tuple(settings.MIDDLEWARE) == REVIEWED_MIDDLEWARE, (
        "settings.MIDDLEWARE changed: review inference/hot_path.py (what the new middleware does to a plain "
        "POST /predict must be done there or stated in static_headers), then update REVIEWED_MIDDLEWARE"
    )


def test_a_hot_answer_is_djangos_answer_headers_included(digits, django_requests):
    hot = HotPredict(django_application)
    django_answer = call(django_application)

    status, headers, payload = call(hot)

    assert len(django_requests) == 1  # the first request too is answered before Django
    assert (status, without_request_id(headers), payload) == (
        django_answer[0],
        without_request_id(django_answer[1]),
        django_answer[2],
    )
    assert json.loads(payload)["version"] == "1.0.0"
    assert headers["X-Frame-Options"] == "DENY"  # what the middleware adds, computed from the settings


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_HSTS_SECONDS=3600,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_REFERRER_POLICY=["no-referrer", "strict-origin"],
)
def test_a_secure_hot_answer_has_djangos_secure_headers(digits, django_requests):
    django = WSGIHandler()  # its middleware reads these settings, as a worker's does at start
    hot = HotPredict(django)
    django_answer = call(django, HTTP_X_FORWARDED_PROTO="https")

    status, headers, payload = call(hot, HTTP_X_FORWARDED_PROTO="https")

    assert len(django_requests) == 1
    assert (status, without_request_id(headers)) == (django_answer[0], without_request_id(django_answer[1]))
    assert headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    assert "Strict-Transport-Security" not in call(hot)[1]  # a plain answer has none


def test_the_clients_request_id_is_echoed_on_a_hot_answer(digits, django_requests):
    hot = HotPredict(django_application)
    _, headers, _ = call(hot, HTTP_X_REQUEST_ID="abc-123")
    assert len(django_requests) == 0
    assert headers["X-Request-ID"] == "abc-123"


def test_a_hot_answer_writes_the_request_log_line(digits, django_requests, settings, caplog):
    settings.ATLAS_REQUEST_LOG = True
    hot = HotPredict(django_application)
    with caplog.at_level(logging.INFO, logger="atlas.requests"):
        call(hot, HTTP_X_REQUEST_ID="r1")
    assert len(django_requests) == 0
    [record] = [r for r in caplog.records if r.name == "atlas.requests" and "request_id=r1" in r.getMessage()]
    assert record.getMessage().startswith("POST /predict 200 ")
    assert record.getMessage().endswith("request_id=r1 model=digit_classifier version=1.0.0")


def test_a_bad_body_is_answered_by_drf_as_before(digits, django_requests):
    hot = HotPredict(django_application)
    bad = b'{"pixels": [1, 2]}'
    expected = call(django_application, bad)

    status, headers, payload = call(hot, bad)

    assert status == "400 Bad Request"
    assert (status, payload) == (expected[0], expected[2])
    assert json.loads(payload)["error"] == "wrong_length"
    assert len(django_requests) == 2  # handed to Django, with the body already read


def test_no_active_version_is_the_views_503_with_detail(django_requests):
    hot = HotPredict(django_application)
    expected = call(django_application)

    status, _, payload = call(hot)

    assert (status, payload) == (expected[0], expected[2])
    assert status == "503 Service Unavailable"
    body = json.loads(payload)
    assert (body["model"], body["detail"]) == ("digit_classifier", f"No model loaded. {body['error']}")


def test_a_host_outside_allowed_hosts_is_refused_as_django_refuses_it(digits, django_requests):
    hot = HotPredict(django_application)
    status, _, payload = call(hot, HTTP_HOST="evil.example")
    assert status == "400 Bad Request"
    assert len(django_requests) == 1


def test_a_setting_changed_after_the_hot_path_was_built_is_followed(digits, django_requests, settings):
    hot = HotPredict(django_application)  # reads its settings once, here
    settings.DISALLOWED_USER_AGENTS = [re.compile("crawler")]

    status, _, _ = call(hot, HTTP_USER_AGENT="crawler/1.0")

    assert len(django_requests) == 1  # handed to Django, whose CommonMiddleware refuses it
    assert status == "403 Forbidden"


def test_a_cors_request_goes_through_django_and_changes_nothing(digits, django_requests, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    hot = HotPredict(django_application)
    _, cors_headers, _ = call(hot, HTTP_ORIGIN="https://app.example")
    assert cors_headers["access-control-allow-origin"] == "https://app.example"
    _, headers, _ = call(hot)
    assert len(django_requests) == 1
    assert not any(name.lower().startswith("access-control-") for name in headers)


def test_other_paths_answer_as_one_element_lists(digits):
    hot = HotPredict(django_application)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/livez",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
    }
    result = hot(environ, lambda status, headers, exc_info=None: None)
    assert isinstance(result, list)
    assert json.loads(b"".join(result)) == {"status": "alive"}


def test_an_unexpected_error_on_the_hot_path_is_handed_to_django(digits, django_requests, monkeypatch):
    import inference.hot_path

    hot = HotPredict(django_application)

    def broken(content_type, body):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inference.hot_path, "predict_answer", broken)
    status, _, payload = call(hot)

    assert len(django_requests) == 1  # Django answered it, from the body the hot path had read
    assert (status, json.loads(payload)["version"]) == ("200 OK", "1.0.0")


def test_a_form_encoded_body_goes_through_django(digits, django_requests):
    hot = HotPredict(django_application)
    status, _, payload = call(hot, b"pixels=%00", CONTENT_TYPE="application/x-www-form-urlencoded")
    assert len(django_requests) == 1
    assert (status, json.loads(payload)["error"]) == ("400 Bad Request", "nul_character")
