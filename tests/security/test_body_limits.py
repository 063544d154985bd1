"""Issue 24, finding 1: every body limit is checked from the headers before a byte of the body is read, on
every path that takes one, under granian (the Procfile's server), gunicorn and runserver, with no router in
front. The client declares a body over the route's limit, sends a few bytes of it, and reads the answer:
a 413 JSON naming the limit, which can only come from the headers (the rest of the body is never sent; a
server that waited for it would leave the read to time out). A chunked body (no Content-Length) is cut off
at its route's limit as it arrives."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket

import psutil
import pytest

from tests.servers.runserver import Runserver

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

MB = 1024 * 1024
DECLARED = 300 * MB
# Small limits, so that a chunked body over them is quick to send; the declared 300 MB is over all of them.
ENV = {
    "ATLAS_MAX_REQUEST_MB": "1",
    "ATLAS_MAX_UPLOAD_MB": "2",
    "MAX_MEDIA_SIZE_MB": "3",
    "ATLAS_MAX_MODEL_UPLOAD_MB": "4",
}
MULTIPART = "multipart/form-data; boundary=b0undary"
# path, content type, the setting that bounds it (ENV's value)
ROUTES = [
    ("/api/v1/detect", MULTIPART, "ATLAS_MAX_UPLOAD_MB"),
    ("/api/v1/detect", "image/png", "ATLAS_MAX_UPLOAD_MB"),
    ("/api/v1/audio/classify", MULTIPART, "ATLAS_MAX_UPLOAD_MB"),
    ("/v2/models/iris/infer", "application/json", "ATLAS_MAX_UPLOAD_MB"),
    ("/api/v1/analyze/media", MULTIPART, "MAX_MEDIA_SIZE_MB"),
    ("/api/v1/sait/verify", "application/json", "ATLAS_MAX_REQUEST_MB"),
    ("/api/v1/registry/versions/", MULTIPART, "ATLAS_MAX_MODEL_UPLOAD_MB"),
    ("/admin/models_registry/modelversion/add/", MULTIPART, "ATLAS_MAX_MODEL_UPLOAD_MB"),
    ("/admin/login/", "application/x-www-form-urlencoded", "ATLAS_MAX_REQUEST_MB"),
    ("/vocabulary/words/", MULTIPART, "ATLAS_MAX_REQUEST_MB"),
    ("/v1/dictionary/words", "application/json", "ATLAS_MAX_REQUEST_MB"),
    ("/predict", "application/json", "ATLAS_MAX_REQUEST_MB"),
]


def head(path: str, content_type: str, framing: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n").encode()


def answer(sock: socket.socket) -> tuple[int, dict]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, json.loads(response.read())


def declare_and_stall(port: int, path: str, content_type: str) -> tuple[int, dict]:
    """Declare a 300 MB body, send 10 bytes of it, and read the answer (status, body): the rest is never sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head(path, content_type, f"Content-Length: {DECLARED}") + b"--b0undary")
        return answer(sock)


def refused_from_the_headers(port: int) -> dict[tuple[str, str], tuple[int, dict]]:
    found = {}
    for path, content_type, _ in ROUTES:
        found[(path, content_type)] = declare_and_stall(port, path, content_type)
    return found


EXPECTED = {
    (path, content_type): (
        413,
        {
            "detail": f"The request body is {DECLARED:,} bytes; the limit is {ENV[setting]} MB ({setting}).",
            "error": "too_large",
        },
    )
    for path, content_type, setting in ROUTES
}


@pytest.mark.parametrize("server", ["procfile", "gunicorn"])
def test_a_declared_body_over_its_routes_limit_is_refused_before_it_is_read(start_replica, server):
    replica = start_replica(workers=1, env=ENV, server=server)

    assert refused_from_the_headers(replica.port) == EXPECTED


def test_runserver_refuses_a_declared_body_over_its_routes_limit_before_it_is_read(tmp_path):
    server = Runserver(folder=tmp_path / "runserver", env=ENV).start()
    try:
        assert refused_from_the_headers(server.port) == EXPECTED
    finally:
        server.stop()


def test_a_300_mb_upload_costs_granian_no_memory(start_replica):
    replica = start_replica(workers=1, env=ENV)
    [worker] = replica.worker_pids()
    before = psutil.Process(worker).memory_info().rss
    sent = 0
    with socket.create_connection(("127.0.0.1", replica.port), timeout=10) as sock:
        sock.sendall(head("/api/v1/detect", MULTIPART, f"Content-Length: {DECLARED}") + b"x" * 65536)
        status, _ = answer(sock)
        block = b"x" * MB
        with pytest.raises(OSError):  # the server closed the connection: the rest is never read
            while sent < DECLARED:
                sock.sendall(block)
                sent += len(block)

    assert status == 413
    assert sent < 64 * MB  # what the kernels' buffers took before the reset
    assert psutil.Process(worker).memory_info().rss - before < 32 * MB


@pytest.mark.parametrize("server", ["procfile", "gunicorn"])
def test_a_chunked_body_is_cut_off_at_its_routes_limit_as_it_arrives(start_replica, server):
    replica = start_replica(workers=1, env=ENV, server=server)
    found = {}
    for path, content_type in [("/api/v1/detect", MULTIPART), ("/vocabulary/words/", "application/json")]:
        with socket.create_connection(("127.0.0.1", replica.port), timeout=10) as sock:
            # a chunk of 3 MB that is never finished: only a reader that stops at the limit answers
            size = 3 * MB
            sock.sendall(head(path, content_type, "Transfer-Encoding: chunked") + f"{size:x}\r\n".encode())
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it answers before reading it all
                sock.sendall(b"x" * (size - 1))
            found[path] = answer(sock)

    assert found == {
        "/api/v1/detect": (
            413,
            {"detail": "The chunked request body is over 2 MB (ATLAS_MAX_UPLOAD_MB).", "error": "too_large"},
        ),
        "/vocabulary/words/": (
            413,
            {"detail": "The chunked request body is over 1 MB (ATLAS_MAX_REQUEST_MB).", "error": "too_large"},
        ),
    }
