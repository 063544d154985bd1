"""The default server (granian, as the Procfile's `web:` line and `make run` start it) keeps what
atlas/gunicorn.conf.py's hooks give gunicorn: every worker preloads before its first request and removes
its reports when it stops; a request in flight when the server stops is finished; clients that hold their
request bodies do not hold up the others; chunked bodies are read."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
from collections.abc import Iterator

import pytest
import requests
from django.db import connection

from models_registry.models import WorkerReport
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

MODEL = "digit_classifier"
PIXELS = {"pixels": [0.5] * 784}
BODY = json.dumps(PIXELS).encode()

pytestmark = [
    pytest.mark.servers,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the workers share the test database"),
]


@pytest.fixture
def replica(settings, start_replica, digits):
    return start_replica(workers=2, env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR)})


def partial_request(port: int, head_only: bool = False) -> socket.socket:
    """A POST /predict that declares its whole body and sends 5 bytes of it (or none)."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    client.sendall(head if head_only else head + BODY[:5])
    return client


def unread_by_server(client: socket.socket) -> int | None:
    """Bytes the client sent that wait in the server's receive queue (/proc/net/tcp's rx_queue of the server's
    end of this connection); None while the kernel lists no such socket."""
    client_port = client.getsockname()[1]
    server_port = client.getpeername()[1]
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
                return int(queues.split(":")[1], 16)
    return None


def read_answer(client: socket.socket) -> tuple[int, dict]:
    response = http.client.HTTPResponse(client)
    response.begin()
    return response.status, json.loads(response.read())


def test_every_worker_preloads_the_active_version_before_its_first_request(replica):
    pids = replica.worker_pids()
    assert len(pids) == 2
    # no request was sent but /livez: every worker reports the version it loaded at import
    wait_until(lambda: worker_versions(MODEL, pids) == {pid: "1.0.0" for pid in pids}, timeout=30, what="preload")


def test_stopping_the_server_removes_its_workers_reports(replica):
    pids = replica.worker_pids()
    wait_until(lambda: len(worker_versions(MODEL, pids)) == len(pids), timeout=30, what="every worker reporting")

    replica.stop()

    assert replica.process is not None and replica.process.returncode is not None
    assert WorkerReport.objects.filter(pid__in=pids).count() == 0


def test_a_request_in_flight_when_the_server_stops_is_answered(replica):
    # Given a connection the server has taken (one whole request answered on it, kept alive)
    client = socket.create_connection(("127.0.0.1", replica.port), timeout=30)
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    client.sendall(head + BODY)
    assert read_answer(client)[0] == 200
    # and a second request on it whose body is on its way, its head read by the server (else the stop may
    # find the connection idle, and closing an idle kept-alive connection is what a graceful stop does)
    client.sendall(head + BODY[:5])
    wait_until(lambda: unread_by_server(client) == 0, timeout=10, what="the server reading the request's head")
    assert replica.process is not None

    os.killpg(replica.process.pid, signal.SIGTERM)  # a graceful stop, as a platform's deploy sends it
    client.sendall(BODY[5:])

    status, answer = read_answer(client)
    assert (status, answer["version"]) == (200, "1.0.0")
    replica.process.wait(timeout=30)


@pytest.fixture
def stalled(replica) -> Iterator[list[socket.socket]]:
    """Eight clients (four per worker) that send 5 bytes of their body, then nothing."""
    clients = [partial_request(replica.port) for _ in range(8)]
    yield clients
    for client in clients:
        client.close()


def test_clients_holding_their_bodies_do_not_hold_up_the_others(replica, stalled):
    health = requests.get(f"{replica.url}/healthz", timeout=10)
    prediction = requests.post(f"{replica.url}/predict", json=PIXELS, timeout=10)
    assert health.status_code == 200
    assert (prediction.status_code, prediction.json()["version"]) == (200, "1.0.0")


def test_a_stalled_client_is_answered_once_its_body_arrives(replica, stalled):
    stalled[0].sendall(BODY[5:])
    status, answer = read_answer(stalled[0])
    assert (status, answer["predicted_digit"] in range(10)) == (200, True)


def test_a_chunked_body_is_read(replica):
    connection_ = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=30)
    parts = (BODY[i : i + 1000] for i in range(0, len(BODY), 1000))
    connection_.request(
        "POST", "/predict", body=parts, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    response = connection_.getresponse()
    assert (response.status, json.loads(response.read())["version"]) == (200, "1.0.0")


def test_the_hot_path_answers_with_the_request_id_and_the_same_headers_as_django(replica):
    # the first plain /predict of a worker goes through Django; later ones are answered before it
    answers = [
        requests.post(f"{replica.url}/predict", json=PIXELS, headers={"X-Request-ID": f"r{i}"}, timeout=10)
        for i in range(6)
    ]
    shapes = {tuple(sorted(k for k in a.headers if k.lower() not in {"date", "x-request-id"})) for a in answers}
    assert [a.headers["X-Request-ID"] for a in answers] == [f"r{i}" for i in range(6)]
    assert len(shapes) == 1  # the same header names whichever path answered
    assert {a.json()["version"] for a in answers} == {"1.0.0"}
