"""The slow pool as scripts/serve starts it (inference/slow_pool.py): a detection is answered by the pool's
worker at nice 19 while the web workers keep the CPU; without the pool the web workers answer it; the
supervisor stops both servers."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
from pathlib import Path

import psutil
import pytest
import requests
from django.core.management import call_command
from django.db import connection

from inference.management.commands import seed_demo
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.servers,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the workers share the test database"),
]

IMAGE = Path(__file__).resolve().parents[2] / "inference" / "data" / "shapes-demo-1.jpg"


@pytest.fixture
def replica(request, settings, start_replica, monkeypatch):
    monkeypatch.setattr(seed_demo, "DEMO_BUILDERS", ["inference.demo.shapes.build"])
    call_command("seed_demo", stdout=io.StringIO())  # the demo detector, active
    env = {"MODEL_STORE_DIR": str(settings.MODEL_STORE_DIR), "ACCESS_LOG": "1"}
    if marker := request.node.get_closest_marker("pool_wait"):  # ATLAS_SLOW_POOL_WAIT: the default is 30 s
        env["ATLAS_SLOW_POOL_WAIT"] = str(marker.args[0])
    return start_replica(workers=2, env=env)


def detect(replica) -> requests.Response:
    with IMAGE.open("rb") as image:
        return requests.post(f"{replica.url}/api/v1/detect", files={"file": image}, timeout=60)


def answered_by(replica, response: requests.Response) -> int:
    """The pid whose request log line carries this answer's request id."""
    pattern = re.compile(rf"\[(\d+)\] \S+: POST /api/v1/detect 200 .* request_id={response.headers['X-Request-ID']}")
    found: list[int] = []

    def logged() -> bool:
        found[:] = [int(match.group(1)) for match in pattern.finditer(replica.log_tail(400))]
        return bool(found)

    wait_until(logged, timeout=10, what="the request's log line")
    return found[0]


def pool_socket(replica) -> Path:
    [master] = [p for p in psutil.Process(replica.process.pid).children() if "--uds" in p.cmdline()]
    command = master.cmdline()
    return Path(command[command.index("--uds") + 1])


def test_a_detection_is_answered_by_the_pools_worker(replica):
    response = detect(replica)

    assert response.status_code == 200
    assert (len(response.json()["detections"]), response.json()["version"]) == (4, "1.1.0-shapes")
    assert answered_by(replica, response) in replica.pool_pids()
    # the web workers left the detector to the pool: only its worker loaded it
    [pool_worker] = replica.pool_pids()
    assert worker_versions("visual_detector", replica.worker_pids()) == {pool_worker: "1.1.0-shapes"}
    assert {pid: torch_mapped(pid) for pid in replica.worker_pids()} == {
        pid: pid == pool_worker for pid in replica.worker_pids()
    }  # torch is in the pool's memory only


def torch_mapped(pid: int) -> bool:
    return any("libtorch_cpu" in region.path for region in psutil.Process(pid).memory_maps())


NORMAL, IDLE = (0, os.SCHED_OTHER), (19, os.SCHED_IDLE)


def thread_priorities(pid: int) -> set[tuple[int, int]]:
    """(nice, scheduling policy) of each thread of the process (fields 19 and 41 of /proc/<pid>/task/<tid>/stat)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            found.add((int(fields[16]), int(fields[38])))
    return found


def test_the_pools_request_threads_run_at_nice_19_in_the_idle_class_and_the_rest_normally(replica):
    assert detect(replica).status_code == 200

    [pool_worker] = replica.pool_pids()
    assert thread_priorities(pool_worker) == {NORMAL, IDLE}  # its start and listener normal; the detection's idle
    assert psutil.Process(pool_worker).nice() == 0  # the main thread
    assert {pid: thread_priorities(pid) for pid in replica.web_pids()} == dict.fromkeys(replica.web_pids(), {NORMAL})


def thread_cpus(pid: int) -> set[frozenset[int]]:
    """The CPUs each thread of the process may run on."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            found.add(frozenset(os.sched_getaffinity(int(task.name))))
    return found


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="on one CPU the pool is not pinned")
def test_the_pool_runs_on_the_last_cpu_and_the_web_workers_on_every_cpu(replica):
    assert detect(replica).status_code == 200  # the detection's threads started

    usable = frozenset(os.sched_getaffinity(0))
    expected = frozenset(sorted(usable)[-max(1, len(usable) // 4) :])
    [pool_worker] = replica.pool_pids()
    assert thread_cpus(pool_worker) == {expected}
    assert {pid: thread_cpus(pid) for pid in replica.web_pids()} == dict.fromkeys(replica.web_pids(), {usable})
    ready = requests.get(f"{replica.url}/readyz", timeout=10).json()
    assert ready["slow_pool"] == {"reachable": True, "error": None, "awaited": False, "cpus": sorted(expected)}


@pytest.mark.pool_wait(0)  # not awaited: answered here at once
def test_without_the_pool_a_web_worker_loads_the_detector_and_answers(replica):
    pool_socket(replica).unlink()  # the pool runs on, but no connection reaches it

    response = detect(replica)

    assert response.status_code == 200
    assert len(response.json()["detections"]) == 4
    assert answered_by(replica, response) in replica.web_pids()
    ready = requests.get(f"{replica.url}/readyz", timeout=10)
    assert ready.status_code == 200  # the replica still serves every model
    assert ready.json()["slow_pool"]["reachable"] is False


def test_the_supervisor_alone_told_to_stop_stops_both_servers(replica):
    workers = replica.worker_pids()
    run_dir = pool_socket(replica).parent

    os.kill(replica.process.pid, signal.SIGTERM)  # as a container runtime signals its first process only
    replica.process.wait(timeout=60)

    assert replica.process.returncode == 0
    assert not [pid for pid in workers if psutil.pid_exists(pid)]
    assert not run_dir.exists()


def test_a_pool_that_dies_is_restarted_and_answers_again(replica):
    [master] = [p for p in psutil.Process(replica.process.pid).children() if "--uds" in p.cmdline()]
    old_workers = replica.pool_pids()

    master.kill()  # SIGKILL, as the OOM killer would: its socket file stays behind
    for pid in old_workers:  # its orphaned worker too
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()

    wait_until(
        lambda: bool(replica.pool_pids()) and not replica.pool_pids() & old_workers,
        timeout=60,
        what=f"a new slow pool\n{replica.log_tail()}",
    )
    wait_until(
        lambda: requests.get(f"{replica.url}/readyz", timeout=10).json()["slow_pool"]["reachable"],
        timeout=30,
        what="the new pool reachable",
    )
    response = detect(replica)
    assert response.status_code == 200
    assert answered_by(replica, response) in replica.pool_pids()
    assert "the slow pool exited" in replica.log_tail(400)


def test_a_detection_sent_while_the_pool_restarts_waits_for_it_and_torch_stays_out_of_the_web_workers(replica):
    [master] = [p for p in psutil.Process(replica.process.pid).children() if "--uds" in p.cmdline()]
    old_workers = replica.pool_pids()
    master.kill()
    for pid in old_workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    # gone for good: a connection the dying pool had accepted would be dropped unanswered, which is answered here
    wait_until(lambda: not any(alive(pid) for pid in {master.pid, *old_workers}), timeout=30, what="the pool gone")

    response = detect(replica)  # at once: the pool is gone, then starting (ATLAS_SLOW_POOL_WAIT, 30 s)

    assert response.status_code == 200
    assert answered_by(replica, response) in replica.pool_pids() - old_workers
    assert {pid: torch_mapped(pid) for pid in replica.web_pids()} == dict.fromkeys(replica.web_pids(), False)
    assert "answered in this worker" not in replica.log_tail(400)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
