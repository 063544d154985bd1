"""`make split` as a person runs it: Caddy on PORT in front of the web service and the torch service (granian
each, with its own ATLAS_SERVE_MODELS), seeded like `make run`, stopped by one Ctrl-C. The database is the
suite's kind: SQLite in the split's own ATLAS_VAR_DIR, or a database of its own on the suite's PostgreSQL.

Which service answered is read from the services themselves: each logs one line per request (ACCESS_LOG=1)
with the X-Request-ID the client sent through the router and the pid of the worker that answered, and honcho
prefixes each line with the service's name."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
from django.db import connection

from tests.deploy.caddy import REPO, caddy_binary
from tests.servers.seaweedfs import free_ports
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.timeout(900)]

PIXELS = {"pixels": [0.5] * 784}


def photo() -> bytes:
    from PIL import Image
    from sklearn.datasets import load_sample_image

    buffer = io.BytesIO()
    Image.fromarray(load_sample_image("china.jpg")).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@dataclass
class Split:
    process: subprocess.Popen
    log: Path
    port: int
    web_port: int
    torch_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processes(self) -> list[psutil.Process]:
        """Every process `make split` started, at any depth (honcho starts each service in its own session)."""
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def service_pids(self, port: int) -> set[int]:
        """The granian master and workers listening on `port`."""
        pids = set()
        for process in self.processes():
            try:
                command = process.cmdline()
            except psutil.NoSuchProcess:
                continue
            if "granian" in " ".join(command) and str(port) in command:
                pids.add(process.pid)
        return pids

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def answered_by(self, request_id: str) -> tuple[str, int]:
        """(service, worker pid) from the access-log line of the request with this X-Request-ID."""
        pattern = re.compile(rf"^\S+ (\w+)\.1\s+\| .*\[(\d+)\] atlas\.requests: .* request_id={request_id} ", re.M)
        found = wait_until(
            lambda: pattern.search(self.output()), timeout=15, what=f"the access-log line of {request_id}"
        )
        return found.group(1), int(found.group(2))


def _database(env: dict[str, str]) -> Iterator[None]:
    """PostgreSQL runs of the suite give the split a database of its own on the same server; SQLite runs
    leave DATABASE_URL unset (`make split`'s SQLite file in ATLAS_VAR_DIR)."""
    env.pop("DATABASE_URL", None)
    if connection.vendor != "postgresql":
        yield
        return
    import psycopg

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    server = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    name = f"{db['NAME']}_split"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = f"{server}/{name}"
    try:
        yield
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Iterator[Split]:
    caddy_binary()  # skips where Caddy is absent
    folder = tmp_path_factory.mktemp("split")
    port, web_port, torch_port = free_ports(3)
    venv = Path(sys.executable).parent.parent
    # the suite's settings (atlas/settings_test.py) left out: the split runs as `make split` does for a person
    test_settings = {"DJANGO_SETTINGS_MODULE", "DEBUG", "ATLAS_ENV", "SECRET_KEY", "ATLAS_VAR_DIR"}
    # nor the make that runs the suite (`make test` runs two suites side by side): its jobserver and output sync
    # would reach the split's own make, which must stream honcho's lines as a person's would
    outer_make = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    env = {key: value for key, value in os.environ.items() if key not in test_settings | outer_make}
    env |= {"ACCESS_LOG": "1", "LOG_LEVEL": "INFO", "ADMIN_PASSWORD": "split-test-admin"}
    # folders of its own: the other suite may run a split at the same time (collectstatic, Caddy's state)
    env |= {
        "ATLAS_STATIC_ROOT": str(folder / "static"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_DATA_HOME": str(folder / "data"),
    }
    databases = _database(env)
    next(databases)
    log = folder / "split.log"
    command = [
        "make",
        "--no-print-directory",
        "-o",
        f"{venv}/.installed",  # the suite's virtualenv is installed: never pip install from the test
        "split",
        f"VENV={venv}",
        f"PORT={port}",
        f"WEB_PORT={web_port}",
        f"TORCH_PORT={torch_port}",
        f"ATLAS_VAR_DIR={folder / 'var'}",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Split(process=process, log=log, port=port, web_port=web_port, torch_port=torch_port)

    def torch_routed() -> bool:  # the router takes both services once each answers its /livez
        if process.poll() is not None:
            raise AssertionError(f"make split exited with {process.returncode}:\n{running.output()[-5000:]}")
        try:
            web = requests.get(f"{running.url}/livez", timeout=5)
            torch = requests.get(f"{running.url}/api/v1/detect", timeout=5)  # the torch service's 405
        except requests.ConnectionError:
            return False
        return (web.status_code, torch.status_code) == (200, 405)

    try:
        wait_until(torch_routed, timeout=600, interval=0.5, what=f"make split on {running.url}")
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                for child in running.processes():
                    child.kill()
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        next(databases, None)


def test_predict_is_answered_by_the_web_service(split):
    request_id = uuid.uuid4().hex

    response = requests.post(f"{split.url}/predict", json=PIXELS, headers={"X-Request-ID": request_id}, timeout=30)

    assert (response.status_code, response.json()["model"], response.headers["X-Request-ID"]) == (
        200,
        "digit_classifier",
        request_id,
    )
    service, pid = split.answered_by(request_id)
    assert (service, pid in split.service_pids(split.web_port)) == ("web", True)


def test_detections_are_answered_by_the_torch_service(split):
    request_id = uuid.uuid4().hex

    response = requests.post(
        f"{split.url}/api/v1/detect",
        data=photo(),
        headers={"Content-Type": "image/jpeg", "X-Request-ID": request_id},
        timeout=60,
    )

    assert (response.status_code, response.json()["model"]) == (200, "visual_detector")
    service, pid = split.answered_by(request_id)
    assert (service, pid in split.service_pids(split.torch_port)) == ("torch", True)


def _maps_torch(pid: int) -> bool:
    return "/torch/lib/libtorch" in Path(f"/proc/{pid}/maps").read_text()


def test_no_web_process_maps_torch_even_after_a_detection_sent_to_it(split):
    # Given routed detections and /predicts, and a detection sent straight to the web service
    requests.post(f"{split.url}/predict", json=PIXELS, timeout=30)
    requests.post(f"{split.url}/api/v1/detect", data=photo(), headers={"Content-Type": "image/jpeg"}, timeout=60)
    straight = requests.post(
        f"http://127.0.0.1:{split.web_port}/api/v1/detect",
        data=photo(),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert (straight.status_code, straight.json()["model"]) == (503, "visual_detector")

    # Then no process of the web service (granian's master, its workers) has torch's library mapped; the
    # torch service's worker has
    web, torch = split.service_pids(split.web_port), split.service_pids(split.torch_port)
    assert (len(web), len(torch)) == (3, 2)  # WEB_CONCURRENCY=2 workers and the master; 1 worker and the master
    assert {pid: _maps_torch(pid) for pid in web} == dict.fromkeys(web, False)
    assert any(_maps_torch(pid) for pid in torch)


def test_a_detection_sent_straight_to_the_web_service_is_a_json_503_with_retry_after(split):
    response = requests.post(
        f"http://127.0.0.1:{split.web_port}/api/v1/detect",
        data=photo(),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )

    # (its exact body is tests/replicas/test_serve_models.py's)
    assert (response.status_code, response.json()["model"], "Retry-After" in response.headers) == (
        503,
        "visual_detector",
        True,
    )


def test_a_300_mb_detection_upload_is_refused_with_413_before_its_body_is_sent(split):
    client = socket.create_connection(("127.0.0.1", split.port), timeout=10)
    client.sendall(
        b"POST /api/v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: 314572800\r\nExpect: 100-continue\r\n\r\n"
    )  # the head alone: the client sends the body only once told "100 Continue"

    answer = http.client.HTTPResponse(client)
    answer.begin()

    assert (answer.status, json.loads(answer.read())) == (
        413,
        {"error": "too_large", "detail": "The request body is over 20 MB (ATLAS_MAX_UPLOAD_MB)."},
    )
    client.close()


def _detect_status(split: Split, image: bytes) -> tuple[int, dict, str | None] | None:
    try:
        response = requests.post(
            f"{split.url}/api/v1/detect", data=image, headers={"Content-Type": "image/jpeg"}, timeout=0.2
        )
    except requests.Timeout:  # sent before the router took the stopped service out
        return None
    return response.status_code, response.json(), response.headers.get("Retry-After")


def test_a_stopped_torch_service_makes_detections_a_json_503_within_a_second_while_predict_stays_200(split):
    # SIGSTOP: the service's port still accepts, nothing answers (an exited process would make honcho stop
    # every service; the router's answer to a refused connection is tests/deploy/test_router.py's)
    torch_group = os.getpgid(min(split.service_pids(split.torch_port)))
    image = photo()
    os.killpg(torch_group, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        answer = wait_until(lambda: _detect_status(split, image), timeout=5, interval=0, what="a detection's answer")
        took = time.monotonic() - stopped
        predict = requests.post(f"{split.url}/predict", json=PIXELS, timeout=10)
    finally:
        os.killpg(torch_group, signal.SIGCONT)

    assert answer == (
        503,
        {
            "error": "service_unavailable",
            "detail": "The service for this path is unavailable; retry later.",
        },
        "5",
    )
    assert took < 1.0
    assert predict.status_code == 200
    # and the router takes it back once it answers again
    wait_until(lambda: (_detect_status(split, image) or (0,))[0] == 200, timeout=15, what="detections again")


# More than the web service's threads (WEB_CONCURRENCY=2 workers of 32), however granian spreads them over its
# two workers: issue 29 saw 64 stall every request, 100 most of them (bench/results/stalled_uploads.json).
STALLED = 200


def _still_waiting(client: socket.socket) -> bool:
    """True while the connection is open and nothing has been answered on it."""
    client.setblocking(False)
    try:
        client.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    return False  # b"": closed; a byte: answered


@pytest.fixture
def stalled_uploads(split) -> Iterator[list[tuple[socket.socket, bytes]]]:
    """Issue 29's stalled uploads through the router: each POST /predict declares its whole body (a digit) and
    sends 5 bytes of it. (socket, the unsent rest)."""
    body = json.dumps(PIXELS).encode()
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    held = []
    for _ in range(STALLED):
        client = socket.create_connection(("127.0.0.1", split.port), timeout=60)
        client.sendall(head + body[:5])
        held.append((client, body[5:]))
    yield held
    for client, _ in held:
        client.close()


def test_stalled_uploads_hold_no_thread_of_the_service(split, stalled_uploads):
    # Before the router read bodies whole, these held every thread of the web service's workers (granian gives
    # a request its thread before its body arrives), and /livez, /healthz and /predict went unanswered.
    live = requests.get(f"{split.url}/livez", timeout=60)
    health = requests.get(f"{split.url}/healthz", timeout=60)
    predict = requests.post(f"{split.url}/predict", json=PIXELS, timeout=60)

    assert (live.status_code, health.status_code, predict.status_code) == (200, 200, 200)
    # answered while every stalled upload was still held open, unanswered (bench/stalled_uploads.py times it)
    assert [_still_waiting(client) for client, _ in stalled_uploads] == [True] * STALLED


def test_a_stalled_upload_that_resumes_is_answered_in_full(split, stalled_uploads):
    client, rest = stalled_uploads[0]
    client.sendall(rest)

    answer = http.client.HTTPResponse(client)
    answer.begin()

    assert (answer.status, json.loads(answer.read())["model"]) == (200, "digit_classifier")


@pytest.mark.parametrize(
    ("path", "headers", "status", "body"),
    [
        (
            "/" + "a" * 70_000,  # over granian's (hyper's) 64 KiB
            {},
            414,
            {"error": "uri_too_long", "detail": "The request's URI is too long."},
        ),
        (
            "/api/v1/audio/" + "a" * 70_000,  # the torch service's
            {},
            414,
            {"error": "uri_too_long", "detail": "The request's URI is too long."},
        ),
        (
            "/livez",
            {f"X-Field-{number}": "x" for number in range(150)},  # over hyper's 100 header fields
            431,
            {"error": "headers_too_large", "detail": "The request's header fields are too large or too many."},
        ),
        ("/predict", {}, 405, {"detail": 'Method "GET" not allowed.'}),  # the app's own answers pass as they are
    ],
    ids=["uri-web", "uri-torch", "headers", "app-405"],
)
def test_what_the_services_refuse_unparsed_is_json_through_the_router(split, path, headers, status, body):
    # granian's own 414 and 431 (and 400) have an empty body; the router answers them in the app's shape
    response = requests.get(f"{split.url}{path}", headers=headers, timeout=30)

    assert (response.status_code, response.headers["Content-Type"], response.json()) == (
        status,
        "application/json",
        body,
    )


def test_one_ctrl_c_stops_every_process_of_the_split(split):
    started = split.processes()
    commands = " | ".join(" ".join(p.cmdline()) for p in started)
    parts = {"router": "caddy run", "web": f"--port {split.web_port}", "torch": f"--port {split.torch_port}"}
    parts["worker"] = "manage.py db_worker"
    assert {service: part in commands for service, part in parts.items()} == dict.fromkeys(parts, True)

    os.killpg(split.process.pid, signal.SIGINT)  # what a terminal sends its foreground group on Ctrl-C
    split.process.wait(timeout=60)

    assert [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
