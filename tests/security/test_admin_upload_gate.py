"""Issue 29's review, leftover 2: the admin's add-version form takes bodies up to the model upload limit
(ATLAS_MAX_MODEL_UPLOAD_MB, 2 GB), and Django's CSRF check reads a multipart body (for its token field)
before the admin checks who is logged in. A request to that form from anyone who may not add a version is
refused from its headers: 403 JSON, not a byte of its body read."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.wsgi import CountedInput

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_the_test_connection")]

ADD_VERSION = "/admin/models_registry/modelversion/add/"
CSRF = "a" * 32  # any well-formed csrftoken cookie: Django then reads the body for the form's token
DECLARED = 5 * 1024 * 1024


def post_upload(cookies: str) -> tuple[str, bytes, int]:
    """POST a declared 5 MB multipart body to the add-version form, through the WSGI application as a server
    calls it: (status, body, bytes of it read)."""
    from atlas.wsgi import application

    body, answered = CountedInput(), {}
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": ADD_VERSION,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "CONTENT_TYPE": "multipart/form-data; boundary=b0undary",
        "CONTENT_LENGTH": str(DECLARED),
        "HTTP_COOKIE": cookies,
    }
    payload = b"".join(application(environ, lambda status, headers, *_: answered.update(status=status)))
    return answered["status"], payload, body.read_bytes


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"csrftoken={CSRF}; sessionid={client.cookies['sessionid'].value}"


def test_an_anonymous_upload_is_refused_before_its_body_is_read():
    status, payload, read = post_upload(f"csrftoken={CSRF}")

    assert (status, read) == ("403 Forbidden", 0)
    assert json.loads(payload) == {
        "detail": "Only a logged-in user with the permission models_registry.add_modelversion may send this "
        "body; log in first.",
        "error": "not_allowed",
    }


def test_a_staff_user_who_may_not_add_versions_is_refused_before_the_body_is_read():
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_modelversion"))

    status, _, read = post_upload(session_cookie(viewer))

    assert (status, read) == ("403 Forbidden", 0)


def test_a_user_who_may_add_versions_gets_past_the_gate_to_the_form():
    uploader = User.objects.create_user("uploader", password="pw", is_staff=True)
    uploader.user_permissions.add(Permission.objects.get(codename="add_modelversion"))

    _, _, read = post_upload(session_cookie(uploader))

    assert read > 0  # the CSRF check read the body (and refused the made-up token): the gate let it through
