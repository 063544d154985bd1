"""Atlas under `manage.py runserver --noreload` on 127.0.0.1: one process, no gunicorn and no config file
(the first request starts serving), with the same environment as a gunicorn replica."""

from __future__ import annotations

import subprocess
import sys

from tests.waiting import wait_until

from .gunicorn import REPO, Replica


class Runserver(Replica):
    def __init__(self, **kwargs) -> None:
        super().__init__(workers=1, server="plain-gunicorn", **kwargs)

    def start(self, *, timeout: float = 90) -> Runserver:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, timeout=timeout, interval=0.1, what=f"runserver on {self.url}\n{self.log_tail()}")
        return self

    def worker_pids(self) -> set[int]:
        return {self.process.pid} if self.process is not None and self.process.poll() is None else set()

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        """Run `manage.py ARGS` in another process with this server's environment."""
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120
        )
