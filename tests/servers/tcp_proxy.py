"""A TCP forwarder on 127.0.0.1 that a test can take down and bring back: an outage of the server behind it
that only the clients pointed at the proxy see (the machine's PostgreSQL stays up for everyone else).

The forwarder is socat (Debian's package; scripts/ensure_socat.sh installs it), one process per connection
(`fork`) in a session of its own. `down()` kills that session, so the listening socket and every connection
through it close at once (clients see their connections cut, then refused); `up()` starts it again on the same
port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess

from tests.waiting import wait_until

from .seaweedfs import HOST, free_ports


class TcpProxy:
    def __init__(self, target_port: int, *, target_host: str = HOST) -> None:
        self.target = (target_host, target_port)
        self.port = free_ports(1)[0]
        self._process: subprocess.Popen[bytes] | None = None

    def up(self) -> TcpProxy:
        self._process = subprocess.Popen(
            [
                "socat",
                f"TCP-LISTEN:{self.port},bind={HOST},reuseaddr,fork",
                f"TCP:{self.target[0]}:{self.target[1]},connect-timeout=5",
            ],
            start_new_session=True,
        )
        wait_until(self._listening, timeout=10, what=f"socat listening on {HOST}:{self.port}")
        return self

    def down(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        os.killpg(process.pid, signal.SIGKILL)  # the listener and every forked connection
        process.wait()
        wait_until(lambda: not self._listening(), timeout=10, what=f"{HOST}:{self.port} closed")

    def _listening(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            return probe.connect_ex((HOST, self.port)) == 0
