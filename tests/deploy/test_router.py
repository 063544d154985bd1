"""deploy/Caddyfile in front of two plain HTTP servers that say who they are and what they received: which
service each path reaches, what the router refuses itself, and its answer when a service is down. Atlas's own
services behind it are tests/deploy/test_split.py's."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.deploy.caddy import Router
from tests.servers.seaweedfs import free_ports

pytestmark = pytest.mark.servers

UNAVAILABLE = {
    "error": "service_unavailable",
    "detail": "The service for this path is unavailable; retry later.",
}


class Service:
    """An HTTP server on 127.0.0.1 answering every request with its name, the path and the request's headers
    (JSON), once it has read the body it was sent; `posted` lists the paths POSTed to it (the router's probes
    are GETs)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.posted: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = json.dumps({"service": service.name, "path": self.path, "headers": dict(self.headers)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = _answer

            def do_POST(self) -> None:
                service.posted.append(self.path)
                # read first: an answer before the body makes the router's write of it fail
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def services() -> Iterator[dict[str, Service]]:
    started = {"web": Service("web"), "torch": Service("torch")}
    yield started
    for service in started.values():
        if service.thread.is_alive():
            service.stop()


@pytest.fixture
def router(services, tmp_path) -> Iterator[Router]:
    router = Router(
        port=free_ports(1)[0], web=services["web"].address, torch=services["torch"].address, log=tmp_path / "caddy.log"
    )
    yield router
    router.stop()


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/detect", "torch"),
        ("/api/v1/audio/classify", "torch"),
        ("/api/v1/analyze/media", "torch"),
        ("/api/v1/sait/verify", "torch"),
        ("/predict", "web"),
        ("/api/v1/classify/threat", "web"),
        ("/api/v1/analyze/health", "web"),
        ("/api/v1/sait/telemetry", "web"),
        ("/api/v1/admin/models", "web"),
        ("/readyz", "web"),
    ],
)
def test_each_path_reaches_its_service(router, path, service):
    response = requests.post(f"{router.url}{path}", data=b"x", timeout=10)

    assert (response.status_code, response.json()["service"], response.json()["path"]) == (200, service, path)


def test_the_client_address_replaces_a_forwarded_for_the_client_sent_and_the_request_id_passes(router):
    response = requests.get(
        f"{router.url}/predict", headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "trace-42"}, timeout=10
    )

    headers = response.json()["headers"]
    assert (headers["X-Forwarded-For"], headers["X-Request-Id"]) == ("127.0.0.1", "trace-42")


def _declare_body(port: int, path: str, length: int) -> socket.socket:
    """A POST that declares `length` bytes and asks to be told to send them (Expect: 100-continue); no body."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    return client


@pytest.mark.parametrize(
    ("path", "limit_mb", "setting"),
    [
        ("/api/v1/detect", 20, "ATLAS_MAX_UPLOAD_MB"),
        ("/api/v1/audio/classify", 20, "ATLAS_MAX_UPLOAD_MB"),
        ("/api/v1/analyze/media", 50, "MAX_MEDIA_SIZE_MB"),
        ("/api/v1/sait/verify", 25, "ATLAS_MAX_REQUEST_MB"),
    ],
)
def test_a_body_over_the_limit_is_refused_from_its_content_length_before_it_is_sent(
    router, services, path, limit_mb, setting
):
    client = _declare_body(router.port, path, limit_mb * 1048576 + 1)

    answer = http.client.HTTPResponse(client)
    answer.begin()  # a "100 Continue" here would be a status 100: the router never asks for the body

    assert (answer.status, answer.getheader("Connection"), json.loads(answer.read())) == (
        413,
        "close",
        {"error": "too_large", "detail": f"The request body is over {limit_mb} MB ({setting})."},
    )
    assert services["torch"].posted == []
    client.close()


def _continue(client: socket.socket) -> bytes:
    """Read the router's interim answer to `Expect: 100-continue`."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += client.recv(1)
    return head


def test_a_body_at_the_limit_is_asked_for_and_passed_on(router, services):
    client = _declare_body(router.port, "/api/v1/detect", 20 * 1048576)

    interim = _continue(client)
    client.sendall(b"\0" * (20 * 1048576))
    answer = http.client.HTTPResponse(client)
    answer.begin()

    assert (interim, answer.status, services["torch"].posted) == (
        b"HTTP/1.1 100 Continue\r\n\r\n",
        200,
        ["/api/v1/detect"],
    )
    client.close()


@pytest.mark.parametrize(("path", "service"), [("/predict", "web"), ("/api/v1/detect", "torch")])
def test_a_body_is_read_whole_before_its_request_reaches_the_service(router, services, path, service):
    # A service's server (granian) gives a request its thread before the body arrives: the router must not
    # hand on a request whose body is still coming
    stalled = socket.create_connection(("127.0.0.1", router.port), timeout=10)
    stalled.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n12345".encode())
    complete = requests.post(f"{router.url}{path}", data=b"0123456789", timeout=10)  # sent after, arrives first
    received_before = list(services[service].posted)

    stalled.sendall(b"67890")
    answer = http.client.HTTPResponse(stalled)
    answer.begin()

    assert (complete.status_code, received_before, answer.status, services[service].posted) == (
        200,
        [path],
        200,
        [path, path],
    )
    stalled.close()


def test_a_client_whose_header_fields_stop_arriving_is_disconnected(router, services):
    client = socket.create_connection(("127.0.0.1", router.port), timeout=30)
    client.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")

    closed = client.recv(100)  # the router's read_header (10 s) closes it without an answer

    assert (closed, services["web"].posted) == (b"", [])
    client.close()


def test_a_stopped_service_is_a_json_503_with_retry_after_while_the_other_answers(router, services):
    services["torch"].stop()  # its port now refuses connections, as a stopped container's does

    detect = requests.post(f"{router.url}/api/v1/detect", data=b"x", timeout=10)
    predict = requests.post(f"{router.url}/predict", data=b"x", timeout=10)

    assert (detect.status_code, detect.headers["Retry-After"], detect.json()) == (503, "5", UNAVAILABLE)
    assert (detect.headers["Content-Type"], predict.status_code) == ("application/json", 200)
