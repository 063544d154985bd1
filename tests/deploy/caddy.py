"""Caddy (Debian's package, scripts/ensure_caddy.sh installs it) with deploy/Caddyfile, for the tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
CADDYFILE = REPO / "deploy" / "Caddyfile"


def caddy_binary() -> str:
    found = shutil.which("caddy")
    if found is None:
        pytest.skip("Caddy is not installed here (scripts/ensure_caddy.sh installs Debian's caddy; CI runs it)")
    return found


class Router:
    """`caddy run` with deploy/Caddyfile on 127.0.0.1:port, upstreams from its environment variables."""

    def __init__(self, *, port: int, web: str, torch: str, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        env = {
            **os.environ,
            "ATLAS_ROUTER_BIND": "127.0.0.1",
            "ATLAS_ROUTER_PORT": str(port),
            "ATLAS_WEB_UPSTREAM": web,
            "ATLAS_TORCH_UPSTREAM": torch,
            "XDG_DATA_HOME": str(log.parent / "caddy-data"),
            "XDG_CONFIG_HOME": str(log.parent / "caddy-config"),
        }
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [caddy_binary(), "run", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._listening, timeout=30, what=f"caddy on {self.url}\n{self._tail()}")

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"caddy exited with {self.process.returncode}:\n{self._tail()}")
        try:
            requests.get(f"{self.url}/livez", timeout=2)
        except requests.ConnectionError:
            return False
        return True

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
