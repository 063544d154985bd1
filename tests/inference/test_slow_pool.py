"""The web worker's side of the slow pool (inference/slow_pool.py), against a real HTTP server on a Unix
socket standing in for the pool: what is passed on, what comes back, and every way the pool can fail
leaving the request to this worker. The real pool, started by scripts/serve, is in
tests/replicas/test_slow_pool.py."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from django.core.management import call_command
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from atlas.wsgi import django_application
from inference import model_cache, serving, slow_pool
from inference.management.commands import seed_demo
from inference.slow_pool import SlowPool
from models_registry.models import RegisteredModel
from tests.waiting import wait_until
from tests.wsgi import call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_the_test_connection")]

DETECT = "/api/v1/detect"
IMAGE = Path(__file__).resolve().parents[2] / "inference" / "data" / "shapes-demo-1.jpg"


class FakePool(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """HTTP/1.1 with keep-alive on a Unix socket; records each request and answers `status` with `body`."""

    daemon_threads = True

    def __init__(self, path: Path) -> None:
        self.received: list[dict] = []
        self.status = 200
        self.body = b'{"answered_by": "pool"}'
        self.release = threading.Event()
        self.release.set()  # cleared: the pool holds its answer until set
        self.close_after_answer = False
        self.drops = 0  # how many of the next requests it reads and drops unanswered
        super().__init__(str(path), PoolHandler)


class PoolHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakePool

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(
            {"method": self.command, "target": self.path, "headers": self.headers, "body": body}
        )
        self.server.release.wait(timeout=10)
        if self.server.drops:  # as a worker that dies on the request
            self.server.drops -= 1
            self.close_connection = True
            return
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.send_header("X-Answered-By", "pool")
        self.end_headers()
        self.wfile.write(self.server.body)
        if self.server.close_after_answer:  # as a server that ends a kept-alive connection unannounced
            self.close_connection = True

    do_GET = do_POST

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def socket_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pool", numbered=True) / "pool.sock"  # short: a socket path has 108 bytes


@pytest.fixture
def pool(socket_path) -> Iterator[FakePool]:
    server = FakePool(socket_path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_outage() -> Iterator[None]:
    """Each test starts with a pool this process has never found silent (slow_pool.outage is per process)."""
    slow_pool.outage.listened()
    yield
    slow_pool.outage.listened()


@pytest.fixture
def bound_not_listening(socket_path) -> Iterator[Path]:
    """The socket file as a starting granian has it: bound, nobody accepting (a connection is refused)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bound:
        bound.bind(str(socket_path))
        yield socket_path


def start_pool(socket_path: Path) -> FakePool:
    """A pool that starts listening where a silent one was (the bound file of a starting one removed)."""
    socket_path.unlink(missing_ok=True)
    server = FakePool(socket_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def web(settings, socket_path) -> SlowPool:
    settings.ATLAS_SLOW_POOL_SOCKET = str(socket_path)
    settings.ATLAS_SLOW_POOL_MEMBER = False
    return SlowPool(django_application)


def fallbacks() -> float:
    """atlas_slow_pool_fallbacks_total as GET /metrics adds it up (every worker's files in the metrics folder)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry.get_sample_value("atlas_slow_pool_fallbacks_total") or 0.0


def test_a_slow_model_request_is_answered_by_the_pool_as_it_answered(pool, web, django_requests):
    status, headers, payload = call(
        web,
        b"JPEG bytes",
        path=DETECT,
        QUERY_STRING="conf=0.5",
        CONTENT_TYPE="image/jpeg",
        HTTP_AUTHORIZATION="Bearer t",
    )

    assert (status, payload, headers["X-Answered-By"]) == ("200 OK", b'{"answered_by": "pool"}', "pool")
    assert django_requests == []  # not through this worker's Django
    [sent] = pool.received
    assert (sent["method"], sent["target"], sent["body"]) == ("POST", DETECT + "?conf=0.5", b"JPEG bytes")
    assert (sent["headers"]["Content-Type"], sent["headers"]["Content-Length"]) == ("image/jpeg", "10")
    assert (sent["headers"]["Authorization"], sent["headers"]["Host"]) == ("Bearer t", "127.0.0.1")


def test_the_pool_is_told_the_clients_address_and_a_clients_own_claim_is_dropped(pool, web):
    call(web, b"x", path=DETECT, REMOTE_ADDR="10.1.2.3", HTTP_X_ATLAS_POOL_REMOTE_ADDR="6.6.6.6")

    headers = pool.received[0]["headers"]
    assert headers.get_all("X-Atlas-Pool-Remote-Addr") == ["10.1.2.3"]
    assert (headers["X-Atlas-Pool-Scheme"], headers["X-Atlas-Pool-Server"]) == ("http", "127.0.0.1:8000")


def test_a_fast_model_request_never_reaches_the_pool(pool, web, django_requests, digits):
    status, _, payload = call(web)  # POST /predict

    assert (status, json.loads(payload)["version"]) == ("200 OK", "1.0.0")
    assert (pool.received, django_requests) == ([], [1])


def test_a_pool_answering_503_is_answered_as_it_came(pool, web, django_requests):
    pool.status = 503  # e.g. no active version: this worker would say the same, after loading torch for it
    before = fallbacks()

    status, _, payload = call(web, b"x", path=DETECT)

    assert (status, payload) == ("503 Service Unavailable", b'{"answered_by": "pool"}')
    assert (django_requests, fallbacks()) == ([], before)


def test_a_request_the_pool_dropped_unanswered_is_sent_once_more_and_answered_by_it(pool, web, django_requests):
    pool.drops = 1  # a worker that died on it, restarted
    before = fallbacks()

    answer = call(web, b"x", path=DETECT)

    assert (answer[0], answer[2]) == ("200 OK", b'{"answered_by": "pool"}')
    assert [sent["body"] for sent in pool.received] == [b"x", b"x"]
    assert (django_requests, fallbacks()) == ([], before)


def test_a_pool_that_drops_every_connection_unread_is_given_up_on_after_the_wait(settings, socket_path, web):
    settings.ATLAS_SLOW_POOL_WAIT = 0.5
    accepted: list[int] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(socket_path))
        listener.listen()

        def drop_each() -> None:  # accepts and closes at once: the body is never read
            with contextlib.suppress(OSError):
                while True:
                    connection, _ = listener.accept()
                    connection.close()
                    accepted.append(1)

        threading.Thread(target=drop_each, daemon=True).start()
        before = fallbacks()

        status, _, _ = call(web, b"x" * (4 << 20), path=DETECT, CONTENT_TYPE="image/jpeg")  # more than a socket buffer

    assert status == "400 Bad Request"  # this worker's Django: not an image
    assert fallbacks() == before + 1
    assert len(accepted) >= 2  # sent again while awaited, then given up on


def test_a_request_sent_whole_twice_is_not_sent_a_third_time(pool, web):
    call(web, b"first", path=DETECT)  # answered: its connection is kept
    pool.drops = 2  # the kept connection drops the next request, and so does a new one
    before = fallbacks()

    call(web, b"second", path=DETECT)

    assert [sent["body"] for sent in pool.received] == [b"first", b"second", b"second"]
    assert fallbacks() == before + 1


def test_a_request_the_pool_drops_twice_is_left_to_this_worker(pool, web):
    pool.drops = 2
    before = fallbacks()
    here = call(django_application, b"not an image", path=DETECT, CONTENT_TYPE="image/jpeg")

    answer = call(web, b"not an image", path=DETECT, CONTENT_TYPE="image/jpeg")

    assert len(pool.received) == 2  # sent whole each time: it may have run, so not a third time
    assert (answer[0], answer[2]) == (here[0], here[2])  # this worker's Django answered, with the same body
    assert fallbacks() == before + 1


def test_a_chunked_body_a_wrapper_has_read_is_passed_on(pool, web):
    call(web, b"abc", path=DETECT, HTTP_TRANSFER_ENCODING="chunked")  # ChunkedBodies set CONTENT_LENGTH

    [sent] = pool.received
    assert (sent["body"], sent["headers"]["Content-Length"], sent["headers"]["Transfer-Encoding"]) == (
        b"abc",
        "3",
        None,
    )


def test_raw_bytes_in_the_query_string_are_passed_on_percent_encoded(pool, web):
    status, _, _ = call(web, b"x", path=DETECT, QUERY_STRING="conf=0.5&name=caf\xe9&a=%41")

    assert status == "200 OK"
    assert pool.received[0]["target"] == DETECT + "?conf=0.5&name=caf%E9&a=%41"


def test_a_pool_that_cannot_be_reached_leaves_the_request_to_this_worker(settings, web):
    settings.ATLAS_SLOW_POOL_WAIT = 0  # given up on at once
    before = fallbacks()  # no pool listens on the socket path
    here = call(django_application, b"not an image", path=DETECT, CONTENT_TYPE="image/jpeg")

    answer = call(web, b"not an image", path=DETECT, CONTENT_TYPE="image/jpeg")

    assert (answer[0], answer[2]) == (here[0], here[2])
    assert fallbacks() == before + 1


@pytest.mark.parametrize("silent", ["no socket file yet", "bound, not listening"])
def test_a_request_waits_for_a_pool_that_starts_listening_and_is_answered_by_it(
    request, silent, socket_path, web, django_requests
):
    # scripts/serve's web workers listen seconds before the pool does: a detection then must not load torch here
    if silent == "bound, not listening":
        request.getfixturevalue("bound_not_listening")
    before = fallbacks()
    answers: list[tuple] = []
    waiting = threading.Thread(target=lambda: answers.append(call(web, b"x", path=DETECT)))
    waiting.start()
    wait_until(lambda: slow_pool.outage.since is not None, timeout=10, what="the request refused once")

    pool = start_pool(socket_path)
    waiting.join(timeout=30)
    pool.shutdown()
    pool.server_close()

    assert (answers[0][0], answers[0][2]) == ("200 OK", b'{"answered_by": "pool"}')
    assert (django_requests, fallbacks()) == ([], before)
    assert slow_pool.outage.since is None  # the pool listens again: the next refusal starts a new wait


def test_a_pool_silent_past_the_wait_leaves_the_request_to_this_worker_and_is_no_longer_awaited(
    settings, bound_not_listening, web
):
    settings.ATLAS_SLOW_POOL_WAIT = 0.2
    before = fallbacks()
    here = call(django_application, b"not an image", path=DETECT, CONTENT_TYPE="image/jpeg")

    answer = call(web, b"not an image", path=DETECT, CONTENT_TYPE="image/jpeg")

    assert (answer[0], answer[2]) == (here[0], here[2])
    assert fallbacks() == before + 1
    assert slow_pool.outage.awaited() is False  # the next request is answered here without waiting


def test_a_request_past_its_own_deadline_waits_no_more_for_a_pool_that_refuses(settings, bound_not_listening):
    # the deadline a request took at its first refusal holds after the pool dropped it, though the pool took
    # the connection meanwhile (which ended the process's outage)
    connection = slow_pool._UnixConnection(str(bound_not_listening), timeout=5)

    with pytest.raises(slow_pool.PoolUnavailable, match="^ConnectionRefusedError"):
        slow_pool._open(connection, time.monotonic() - 1)

    assert slow_pool.outage.since is None  # its deadline was its own: no new wait was started


def test_a_pool_that_does_not_answer_in_time_is_a_504(settings, pool, socket_path):
    settings.ATLAS_SLOW_POOL_SOCKET = str(socket_path)
    settings.ATLAS_SLOW_POOL_TIMEOUT = 0.3
    pool.release.clear()

    before = fallbacks()

    status, headers, payload = call(SlowPool(django_application), b"x", path=DETECT)

    assert (status, headers["Content-Type"]) == ("504 Gateway Timeout", "application/json")
    assert fallbacks() == before  # not answered here: the pool may still be computing it
    assert json.loads(payload) == {"detail": "The slow pool did not answer within 0.3 s.", "error": "slow_pool_timeout"}


def test_a_connection_the_pool_closed_between_requests_is_replaced_without_a_fallback(pool, web):
    pool.close_after_answer = True
    before = fallbacks()

    first = call(web, b"one", path=DETECT)
    second = call(web, b"two", path=DETECT)  # the kept connection is gone: sent again on a new one

    assert (first[0], second[0]) == ("200 OK", "200 OK")
    assert [sent["body"] for sent in pool.received] == [b"one", b"two"]
    assert fallbacks() == before


def as_a_member(settings, app, **environ: str) -> None:
    """One request through a member's SlowPool, on a thread of its own (a member lowers its request
    threads' priority for good: never this test's)."""
    settings.ATLAS_SLOW_POOL_MEMBER = True
    member = SlowPool(app)
    thread = threading.Thread(target=call, args=(member, b""), kwargs={"path": "/livez", "method": "GET", **environ})
    thread.start()
    thread.join(timeout=30)


def test_a_member_of_the_pool_restores_the_client_the_web_worker_saw(settings):
    seen: list[dict] = []

    def app(environ, start_response):
        seen.append(dict(environ))
        return django_application(environ, start_response)

    as_a_member(
        settings,
        app,
        REMOTE_ADDR="",
        HTTP_X_ATLAS_POOL_REMOTE_ADDR="10.1.2.3",
        HTTP_X_ATLAS_POOL_SCHEME="https",
        HTTP_X_ATLAS_POOL_SERVER="atlas.example:443",
    )

    [environ] = seen
    assert (environ["REMOTE_ADDR"], environ["wsgi.url_scheme"]) == ("10.1.2.3", "https")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("atlas.example", "443")
    assert not [key for key in environ if key.startswith("HTTP_X_ATLAS_POOL_")]


def test_a_members_request_thread_runs_at_nice_19_in_the_idle_class(settings):
    settings.ATLAS_SLOW_POOL_NICE, settings.ATLAS_SLOW_POOL_IDLE = 19, True
    nices: list[tuple[int, int]] = []

    def app(environ, start_response):
        nices.append((os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), os.sched_getscheduler(0)))
        return django_application(environ, start_response)

    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    as_a_member(settings, app)

    assert nices == [(19, os.SCHED_IDLE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ours  # the caller's thread untouched


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        ("/api/v1/detect", True),
        ("/api/v1/audio/classify", True),
        ("/api/v1/analyze/media", True),
        ("/api/v1/sait/verify", True),
        ("/predict", False),
        ("/v1/predict", False),
        ("/api/v1/analyze/health", False),
        ("/no/such/path", False),
    ],
)
def test_the_views_that_run_a_slow_model_are_the_ones_routed(path, routed):
    assert slow_pool.routed(path) is routed


@pytest.fixture
def detector(monkeypatch):
    """The demo shapes detector (yolo: a runtime with a slow method), registered and active as seed_demo does."""
    monkeypatch.setattr(seed_demo, "DEMO_BUILDERS", ["inference.demo.shapes.build"])
    call_command("seed_demo", stdout=io.StringIO())
    return RegisteredModel.objects.get(name="visual_detector").active_version


def test_a_web_worker_neither_loads_nor_follows_a_model_left_to_the_pool(web, detector, digits):
    assert model_cache.preload() == {"digit_classifier": "1.0.0"}  # the worker's start
    assert model_cache.activate(version=detector) is None  # a promotion of the detector reaching this worker

    assert set(model_cache.snapshot()) == {"digit_classifier"}
    assert (serving._follows("visual_detector"), serving._follows("digit_classifier")) == (False, True)


def test_a_detection_this_worker_must_answer_loads_the_detector_here(settings, web, detector):
    settings.ATLAS_SLOW_POOL_WAIT = 0
    # no pool listens on the socket: the web worker answers, loading the detector for it
    status, _, payload = call(web, IMAGE.read_bytes(), path=DETECT, CONTENT_TYPE="image/jpeg")

    assert status == "200 OK"
    assert (len(json.loads(payload)["detections"]), json.loads(payload)["version"]) == (4, "1.1.0-shapes")
    assert model_cache.snapshot()["visual_detector"].version == "1.1.0-shapes"
    assert serving._follows("visual_detector") is True  # loaded here: kept current from now on


def readyz_models(pool_state: dict, **more) -> bytes:
    return json.dumps({"status": "ready", "database_connected": True, "models": pool_state} | more).encode()


def test_readiness_gives_the_pools_state_of_the_models_left_to_it(client, pool, web, detector, digits):
    pool.body = readyz_models({"visual_detector": {"serving": "1.1.0-shapes", "on_active": True, "error": None}})
    model_cache.preload()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["models"] == {
        "digit_classifier": {"serving": "1.0.0", "on_active": True, "error": None},
        "visual_detector": {"serving": "1.1.0-shapes", "on_active": True, "error": None, "in": "slow pool"},
    }
    assert response.json()["slow_pool"] == {"reachable": True, "error": None, "awaited": False, "cpus": None}
    assert (pool.received[0]["target"], pool.received[0]["headers"]["Host"]) == ("/readyz", "testserver")


def test_readiness_gives_the_cpus_the_pool_is_pinned_to(client, pool, web, detector):
    pool.body = readyz_models({}, cpus=[1])

    response = client.get("/readyz")

    assert response.json()["slow_pool"] == {"reachable": True, "error": None, "awaited": False, "cpus": [1]}


def test_a_pool_member_gives_the_cpus_it_may_run_on(settings, client):
    settings.ATLAS_SLOW_POOL_SOCKET = ""
    settings.ATLAS_SLOW_POOL_MEMBER = True

    response = client.get("/readyz")

    assert response.json()["cpus"] == sorted(os.sched_getaffinity(0))


def test_a_pool_not_on_the_active_version_makes_the_replica_not_ready(client, pool, web, detector):
    pool.body = readyz_models({"visual_detector": {"serving": "1.0.0", "on_active": False, "error": "x"}})

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["models"]["visual_detector"] == {
        "serving": "1.0.0",
        "on_active": False,
        "error": "x",
        "in": "slow pool",
    }


def test_without_the_pool_the_models_left_to_it_are_loaded_on_demand_and_do_not_hold_readiness(
    settings, client, web, detector
):
    settings.ATLAS_SLOW_POOL_WAIT = 0
    response = client.get("/readyz")  # nothing listens on the socket

    assert response.status_code == 200
    assert response.json()["models"]["visual_detector"] == {
        "serving": None,
        "on_active": None,
        "error": None,
        "in": "this worker, on demand",
    }
    assert response.json()["slow_pool"]["reachable"] is False
    assert response.json()["slow_pool"]["error"].startswith("FileNotFoundError")


def test_readiness_while_the_pool_is_awaited_says_so_and_is_not_held(client, bound_not_listening, web, detector):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["models"]["visual_detector"] == {
        "serving": None,
        "on_active": None,
        "error": None,
        "in": "slow pool, awaited",
    }
    pool = response.json()["slow_pool"]
    assert (pool["reachable"], pool["awaited"], pool["cpus"]) == (False, True, None)
    assert pool["error"].startswith("ConnectionRefusedError")
    assert slow_pool.outage.since is None  # a probe starts no wait: only a request that needs the pool does


def test_readiness_says_nothing_of_a_pool_where_there_is_none(settings, client):
    settings.ATLAS_SLOW_POOL_SOCKET = ""
    assert "slow_pool" not in client.get("/readyz").json()
