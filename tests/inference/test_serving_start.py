"""serving.ensure_started(): idempotent, a forked child does not inherit a running listener, and a start cleans
up after dead workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from inference import serving
from models_registry import artifact_cache
from models_registry.compat import bootstrap
from models_registry.models import RegisteredModel, WorkerReport

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def started():
    serving.ensure_started()
    yield
    serving.stop()


def test_a_second_call_keeps_the_one_listener(started):
    first = serving._listener

    serving.ensure_started()

    assert first is not None and serving._listener is first and serving.is_started()


def test_a_forked_child_does_not_inherit_the_listener_as_running(started):
    pid = os.fork()
    if pid == 0:  # the child: nothing started here yet
        os._exit(0 if (serving._started_pid, serving._listener, serving.is_started()) == (None, None, False) else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0


def test_starting_to_serve_sweeps_the_leftovers_of_a_killed_worker():
    # Given a .part download and its lock file, left an hour and a minute ago by a worker killed mid-download
    sha = "cd" * 32
    part = artifact_cache.cache_dir() / sha[:2] / f"{sha}.npz.424242.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"half a model")
    lock = artifact_cache._lock_path(sha)
    lock.touch()
    past = time.time() - 3660
    for path in (part, lock):
        os.utime(path, (past, past))

    # When a worker starts serving
    serving.ensure_started()
    try:
        # Then both are gone
        assert (part.exists(), lock.exists()) == (False, False)
    finally:
        serving.stop()


def test_starting_to_serve_deletes_the_reports_of_dead_workers_of_this_host():
    # Given the report of a worker of this host whose process is gone
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    model = RegisteredModel.objects.create(name="answers", runtime="json_answer")
    WorkerReport.objects.create(host=socket.gethostname(), pid=gone.pid, model=model, heartbeat_at=timezone.now())

    # When a worker starts serving
    serving.ensure_started()
    try:
        # Then that report is gone
        assert WorkerReport.objects.filter(pid=gone.pid).count() == 0
    finally:
        serving.stop()


def test_a_web_worker_runs_the_hub_bootstrap_at_start():
    bootstrap.forget_outcome()
    serving.ensure_started()
    try:
        assert bootstrap.last_outcome()["outcome"] == "not_configured"  # no HF_MODEL_REPO in the tests
    finally:
        serving.stop()


def test_the_listener_flushes_the_workers_metrics_after_every_sync(started):
    from inference import metrics

    assert serving._listener is not None and serving._listener._on_wake is metrics.flush
