"""The Procfile's `worker:` (`manage.py db_worker`, django-tasks' database worker) on the test database: its
own cache folder, the test's artifact store, the registry tests' runtime (tests/servers/worker_settings.py).
Started per test with `start_task_worker(env={...})`, stopped after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_until

from .gunicorn import REPO, database_url
from .settings_module import settings_env


class TaskWorker:
    def __init__(self, *, folder: Path, store: Path, env: dict[str, str], settings: dict[str, object]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "worker.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.servers.worker_settings",
            "SECRET_KEY": "worker-test-secret",
            "DEBUG": "0",
            "ATLAS_ENV": "test",
            "DATABASE_URL": database_url(),
            "ATLAS_VAR_DIR": str(folder / "var"),
            "MODEL_STORAGE_PATH": str(store),
            "MODEL_CACHE_DIR": str(folder / "cache"),
            **env,
        }
        if settings:
            self.env.update(settings_env(folder / "settings", "tests.servers.worker_settings", settings))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60) -> TaskWorker:
        # The Procfile's worker: line, polling more often so that tests do not wait for it.
        command = [sys.executable, "manage.py", "db_worker", "--queue-name", "registry", "--interval", "0.1"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*command, "--no-reload", "--no-startup-delay"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._started, timeout=timeout, interval=0.05, what=f"the task worker to start\n{self.log()}")
        return self

    def _started(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the task worker exited with {self.process.returncode}:\n{self.log()}")
        return "Starting worker" in self.log()

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as in an OOM kill or a lost container."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # db_worker finishes its task, then exits
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@pytest.fixture
def start_task_worker(settings, tmp_path):
    """start_task_worker(env={...}, settings={...}) -> a started TaskWorker on this test's database and store,
    with these variables and these settings changed."""
    store = Path(settings.MODEL_STORE_DIR)
    started: list[TaskWorker] = []

    def start(*, env: dict[str, str] | None = None, settings: dict[str, object] | None = None) -> TaskWorker:
        folder = tmp_path / f"task-worker-{len(started)}"
        worker = TaskWorker(folder=folder, store=store, env=env or {}, settings=settings or {})
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
