"""X-Request-ID: taken from the client when it is a sane token, made otherwise, echoed on every answer."""

from __future__ import annotations

import re
import uuid

import pytest

pytestmark = pytest.mark.django_db


def test_the_clients_request_id_is_echoed(client):
    response = client.get("/api/v1/samples?count=1", HTTP_X_REQUEST_ID="client-abc.123_x")

    assert response["X-Request-ID"] == "client-abc.123_x"


def test_a_request_without_one_gets_a_new_id(client):
    first = client.get("/api/v1/samples?count=1")["X-Request-ID"]
    second = client.get("/api/v1/samples?count=1")["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert uuid.UUID(hex=first).version == 4  # the shape of uuid.uuid4().hex
    assert first != second


def test_an_id_that_could_forge_log_lines_is_replaced(client):
    response = client.get("/api/v1/samples?count=1", HTTP_X_REQUEST_ID="x\nERROR forged line")

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_error_answers_carry_it_too(client):
    response = client.get("/no/such/path", HTTP_X_REQUEST_ID="r-404")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "r-404"


def test_a_forked_worker_makes_ids_of_its_own():
    """Ids are made from a per-process key and counter, without a system call: a worker forked from a process
    that made ids already (gunicorn's preload) must not repeat its parent's."""
    import os

    from atlas.http.request_context import new_request_id

    new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.write(write, "".join(new_request_id() for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 96).decode()
    os.close(read)
    parent = "".join(new_request_id() for _ in range(3))

    assert len(child) == 96
    assert {child[i : i + 32] for i in range(0, 96, 32)}.isdisjoint(parent[i : i + 32] for i in range(0, 96, 32))
