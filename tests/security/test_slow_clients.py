"""Issue 9, case 10, over a real gunicorn (two sync workers, the default config): a client that declares a
body and stops sending it is cut off with a 408 instead of holding its worker until gunicorn's timeout, so
two such clients do not hold up everyone else; a slow but steady body still arrives."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

HEAD = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"


@pytest.fixture
def server(start_replica):
    return start_replica(workers=2, server="gunicorn")


@pytest.fixture
def stalled(server) -> Iterator[list[socket.socket]]:
    """Two clients that each send 5 of the 1,000 bytes they declared, then nothing."""
    sockets = []
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.sendall(HEAD + b'{"pix')
        sockets.append(sock)
    yield sockets
    for sock in sockets:
        sock.close()


def answer(sock: socket.socket) -> tuple[int, dict]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, json.loads(response.read())


def test_a_body_that_stops_arriving_is_a_408_json(stalled):
    status, body = answer(stalled[0])

    assert (status, body["error"]) == (408, "body_timeout")
    assert body["detail"] == "The request body stopped arriving (nothing for 1 s)."


def test_two_stalled_clients_do_not_hold_up_other_requests(server, stalled):
    # Both workers took a stalled client; before the fix this waited for gunicorn's timeout (60 s).
    response = requests.get(f"{server.url}/livez", timeout=15)

    assert response.status_code == 200


def test_a_slow_but_steady_body_still_arrives(server):
    body = json.dumps({"pixels": [0.5] * 784}).encode()
    head = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        for start in range(0, len(body), len(body) // 3 + 1):
            sock.sendall(body[start : start + len(body) // 3 + 1])
            time.sleep(0.3)  # the client's pace (under the 1 s allowed between pieces), not a wait on the server
        status, _ = answer(sock)

    assert status == 503  # read whole: no digit model is active in this test, so the body reached the view


def test_a_form_post_whose_body_stops_arriving_is_a_408_not_a_csrf_403(server):
    # Django's CSRF check swallows an unreadable body and answers 403; the truth is that the body never came.
    head = (
        b"POST /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + b"csrfmiddlewaretoken=ab")
        status, body = answer(sock)

    assert (status, body["error"]) == (408, "body_timeout")
