"""Serving starts however the process is started (issue 9, cases 1 and 2)."""

from __future__ import annotations

import pytest
import requests

from models_registry import services
from tests.factories import write_digit_npz
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

MODEL = "digit_classifier"
pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _two_versions(tmp_path):
    v1 = services.model_version_register(
        model_name=MODEL,
        version="1.0.0",
        source=write_digit_npz(tmp_path / "a.npz", seed=1),
        runtime="numpy_mlp",
        actor="test",
    )
    v2 = services.model_version_register(
        model_name=MODEL, version="1.3.0", source=write_digit_npz(tmp_path / "b.npz", seed=2)
    )
    services.model_version_promote(version=v1, actor="test")
    return v1, v2


def test_plain_gunicorn_without_a_config_file_follows_a_promotion(settings, start_replica, tmp_path):
    # Given `gunicorn atlas.wsgi -w 3` started from a folder without gunicorn.conf.py (no hooks at all)
    _, v2 = _two_versions(tmp_path)
    replica = start_replica(
        workers=3,
        server="plain-gunicorn",
        env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "ATLAS_RELOAD_POLL_SECONDS": "0.25"},
    )
    pids = replica.worker_pids()
    replica.wake_every_worker(
        lambda p: set(worker_versions(MODEL, p).values()) == {"1.0.0"} and len(worker_versions(MODEL, p)) == 3
    )

    # When another process promotes 1.3.0 (as `manage.py activate_model` does)
    services.model_version_promote(version=v2, actor="test")

    # Then every worker switches and every answer comes from 1.3.0
    wait_until(
        lambda: set(worker_versions(MODEL, pids).values()) == {"1.3.0"},
        timeout=15,
        what=f"three workers on 1.3.0: {worker_versions(MODEL, pids)}",
    )
    versions = {
        requests.post(f"{replica.url}/predict", json={"pixels": [0.5] * 784}, timeout=10).json()["version"]
        for _ in range(15)
    }
    assert versions == {"1.3.0"}


def test_a_worker_that_cannot_reach_the_database_keeps_the_replica_up(start_replica):
    # Given gunicorn (with its hooks) started with an unreachable database
    replica = start_replica(workers=2, env={"DATABASE_URL": "postgres://postgres@127.0.0.1:9/none"})

    # Then the master and its workers stay up: alive, honestly not ready
    assert replica.process is not None and replica.process.poll() is None
    assert len(replica.worker_pids()) == 2
    live = requests.get(f"{replica.url}/livez", timeout=10)
    ready = requests.get(f"{replica.url}/readyz", timeout=10)
    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert (ready.status_code, ready.json()["status"], ready.json()["database_connected"]) == (503, "not_ready", False)


def test_runserver_serves_the_version_activate_model_promotes(settings, tmp_path):
    # Given `manage.py runserver --noreload` (no gunicorn, no config file) serving 1.0.0
    from tests.servers.runserver import Runserver

    _two_versions(tmp_path)
    server = Runserver(
        folder=tmp_path / "runserver",
        env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "ATLAS_RELOAD_POLL_SECONDS": "0.25"},
    )
    server.start()
    try:
        assert _predicted_version(server.url) == "1.0.0"

        # When another process runs `manage.py activate_model digit_classifier 1.3.0`
        done = server.manage("activate_model", MODEL, "1.3.0")
        assert done.returncode == 0, done.stderr

        # Then runserver answers from 1.3.0
        wait_until(lambda: _predicted_version(server.url) == "1.3.0", timeout=15, what="runserver on 1.3.0")
    finally:
        server.stop()


def _predicted_version(url: str) -> str:
    return requests.post(f"{url}/predict", json={"pixels": [0.5] * 784}, timeout=10).json()["version"]
