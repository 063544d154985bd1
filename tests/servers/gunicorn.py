"""Atlas itself on 127.0.0.1, as a replica: its own port, cache folder and workers, sharing the test
database (and the S3 server) with the test process. The server is the one the Procfile starts (its `web:`
line, read from the Procfile and run by a shell as a Procfile runner does: granian) unless a test asks for
gunicorn by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests
from django.db import connection

from tests.waiting import wait_until

from .seaweedfs import free_ports
from .settings_module import settings_env

REPO = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test session uses (pytest-django's test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


SERVERS = ("procfile", "gunicorn", "plain-gunicorn")


def procfile_command(process: str = "web") -> str:
    """The command of the Procfile's `process:` line."""
    for line in (REPO / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process:
            return command.strip()
    raise LookupError(f"the Procfile has no {process}: line")


class Replica:
    def __init__(
        self,
        *,
        folder: Path,
        workers: int,
        env: dict[str, str],
        server: str = "procfile",
        settings: dict[str, object] | None = None,
    ) -> None:
        """server: "procfile" runs the Procfile's `web:` command (granian) as a Procfile runner does;
        "gunicorn" runs `gunicorn -c atlas/gunicorn.conf.py`; "plain-gunicorn" runs plain
        `gunicorn atlas.wsgi -w N` from a folder without any gunicorn.conf.py (no hooks: the first request
        of each worker starts serving)."""
        if server not in SERVERS:
            raise ValueError(f"server must be one of {SERVERS}, not {server!r}")
        self.folder = folder
        self.server = server
        self.config = server != "plain-gunicorn"
        self.workers = workers
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "server.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "atlas.settings",
            "SECRET_KEY": "replica-test-secret",
            "DEBUG": "0",
            "ATLAS_ENV": "test",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url(),
            "ATLAS_VAR_DIR": str(folder / "var"),
            "MODEL_CACHE_DIR": str(folder / "cache"),
            "WEB_CONCURRENCY": str(workers),
            "LOG_LEVEL": "INFO",  # granian's "Started worker-N" lines, which start() waits for
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            **env,
        }
        if not self.config:
            self.env["PYTHONPATH"] = str(REPO)
        if settings:  # these settings changed, in a settings module of its own (tests/servers/settings_module.py)
            self.env.update(settings_env(folder / "settings", self.env["DJANGO_SETTINGS_MODULE"], settings))
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 90) -> Replica:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            if self.server == "procfile":
                command = ["/bin/sh", "-c", f"exec {procfile_command('web')}"]
            elif self.server == "gunicorn":
                command = [str(gunicorn), "-c", "atlas/gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}"]
            else:
                command = [str(gunicorn), "atlas.wsgi", "-w", str(self.workers), "--bind", f"127.0.0.1:{self.port}"]
            self.process = subprocess.Popen(
                command,
                cwd=REPO if self.config else self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, timeout=timeout, interval=0.1, what=f"{self.server} on {self.url}\n{self.log_tail()}")
        every = self.workers
        wait_until(lambda: len(self.worker_pids()) == every, timeout=timeout, what=f"{every} workers")
        if self.server == "procfile":
            # granian starts each worker's import (the preload) on its own: wait for all of them, so that a
            # test neither races a worker still loading nor stops one mid-import (granian then waits its
            # kill timeout, 20 s, before it kills that worker)
            wait_until(
                lambda: self._log_since_start().count("Started worker-") >= every,
                timeout=timeout,
                what=f"{every} granian workers started\n{self.log_tail()}",
            )
        return self

    def _log_since_start(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.server} exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            requests.get(f"{self.url}/livez", timeout=5)
        except requests.RequestException:
            return False
        return True

    def wake_every_worker(self, started: Callable[[set[int]], bool], *, timeout: float = 60) -> None:
        """Without a config file a worker starts serving on its first request: send bursts of concurrent
        requests (a busy sync worker does not accept, so a burst spreads) until `started(pids)` holds."""
        pids = self.worker_pids()

        def burst() -> bool:
            with ThreadPoolExecutor(max_workers=2 * self.workers) as pool:
                list(pool.map(lambda _: requests.get(f"{self.url}/livez", timeout=10), range(2 * self.workers)))
            return started(pids)

        wait_until(burst, timeout=timeout, interval=0.2, what=f"every worker of {self.url} serving")

    def worker_pids(self) -> set[int]:
        """Every worker process (the children of the server's master)."""
        if self.process is None:
            return set()
        try:
            return {worker.pid for worker in psutil.Process(self.process.pid).children()}
        except psutil.NoSuchProcess:
            return set()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def worker_versions(model_name: str, pids: set[int]) -> dict[int, str | None]:
    """pid -> the version each of these workers reports serving (its WorkerReport row)."""
    from models_registry.models import WorkerReport

    reports = WorkerReport.objects.filter(model__name=model_name, pid__in=pids).select_related("version")
    return {r.pid: (r.version.version if r.version else None) for r in reports}
