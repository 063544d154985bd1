"""Issue 10, cases 3 and 4 over a real gunicorn: request bodies sent with `Transfer-Encoding: chunked`
(no Content-Length) are read, within the size limit, and gunicorn's own refusals (414) are JSON."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket

import pytest
from PIL import Image

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

LIMIT_MB = 1


@pytest.fixture(scope="module")
def replica_env():
    return {
        "ATLAS_MAX_REQUEST_MB": str(LIMIT_MB),
        "ATLAS_MAX_UPLOAD_MB": str(LIMIT_MB),
    }


@pytest.fixture
def server(start_replica, replica_env):
    return start_replica(workers=1, env=replica_env, server="gunicorn", settings={"ATLAS_MAX_IMAGE_PIXELS": 100})


def chunked_post(server, path: str, body: bytes, content_type: str, chunk: int = 1000) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    parts = (body[i : i + chunk] for i in range(0, len(body), chunk))
    headers = {"Content-Type": content_type, "Transfer-Encoding": "chunked"}
    connection.request("POST", path, body=parts, headers=headers, encode_chunked=True)
    response = connection.getresponse()
    answer = (response.status, json.loads(response.read()))
    connection.close()
    return answer


def test_a_chunked_predict_body_is_read(server):
    body = json.dumps({"pixels": [2] + [0.5] * 783}).encode()

    status, answer = chunked_post(server, "/predict", body, "application/json")

    assert (status, answer) == (
        400,
        {"error": "out_of_range", "detail": "pixels[0] is 2; values must be between 0 and 1."},
    )


def test_a_chunked_png_is_read(server):
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10)).save(buffer, format="PNG")

    status, answer = chunked_post(server, "/api/v1/detect", buffer.getvalue(), "image/png", chunk=50)

    assert (status, answer) == (
        413,
        {"error": "image_too_large", "detail": "The image is 20x10; at most 100 pixels (ATLAS_MAX_IMAGE_PIXELS)."},
    )


def test_a_chunked_body_over_the_limit_is_413_json(server):
    limit = LIMIT_MB * 1024 * 1024
    body = b"x" * (limit + 10_000)
    request = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it may answer before reading it all
            sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        status, answer = response.status, json.loads(response.read())

    assert (status, answer) == (
        413,
        {"detail": f"The chunked request body is over {LIMIT_MB} MB (ATLAS_MAX_REQUEST_MB).", "error": "too_large"},
    )


def test_a_request_line_too_long_for_gunicorn_is_a_json_414(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/vocabulary/words/?search=" + "a" * 5000)
    response = connection.getresponse()

    assert response.status == 414
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(response.read()) == {"detail": "Request Line is too large (5039 > 4094)"}
