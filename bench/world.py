"""The throwaway world every benchmark runs in, and what every result file records.

- `World`: a temporary folder (ATLAS_VAR_DIR, caches, stores), a fresh PostgreSQL database created and
  dropped here (postgres://postgres@127.0.0.1:5432/<name>, trust auth), optionally a SeaweedFS S3
  server, and the gunicorn processes started in it. Leaving the `with` block (normally, on an
  exception, or on SIGTERM/SIGINT) stops every process it started and drops the database.
- `setup_django()`: configures Django in this process against the world (env vars are read only by
  atlas/settings.py, so they are set in os.environ first) and migrates.
- `Gunicorn`: one gunicorn on 127.0.0.1 with a given config, workers and env; waits on a condition with a
  deadline, never a fixed sleep.
- `wait_for_quiet()`, `machine()`, `write_result()`: the load-average gate before a recorded run, the
  machine/commit/date block, and bench/results/<name>.json.

Benchmarks are not tests: nothing here imports pytest.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Recorded results (a trial run that must not replace them: `git checkout bench/results` after it).
RESULTS = REPO / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
ADMIN_TOKEN = "bench-admin-token-" + secrets.token_hex(8)
# The server where each benchmark creates (and drops) its own database (bench/README.md, "Requirements").
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


# --- waiting, with a deadline: the tests' own helper (tests/waiting.py) --------------------------------

from tests.servers.gunicorn import procfile_command  # noqa: E402  (the Procfile's web: line, as the tests run it)
from tests.waiting import wait_until  # noqa: E402,F401  (re-exported for the bench scripts)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def wait_for_quiet(*, below: float = 1.5, max_wait_s: float = 600, interval_s: float = 5) -> dict:
    """Wait (bounded) until the 1-minute load average is below `below`; run anyway after max_wait_s."""
    started = time.monotonic()
    first = loadavg()
    while loadavg()[0] >= below and time.monotonic() - started < max_wait_s:
        time.sleep(interval_s)
    now = loadavg()
    gate = {
        "threshold_1min": below,
        "load_at_request": first,
        "load_at_start": now,
        "waited_s": round(time.monotonic() - started, 1),
        "quiet": now[0] < below,
    }
    print(f"load average {now} after waiting {gate['waited_s']} s (quiet: {gate['quiet']})", flush=True)
    return gate


# --- the record every result carries -----------------------------------------------------------------


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy

    try:
        import psutil

        memory_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        memory_gb = None
    return {
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "kernel": platform.release(),
        "git_head": _git("rev-parse", "HEAD"),
        "git_dirty_files": len([line for line in _git("status", "--porcelain").splitlines() if line]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    # the command as it was run (swaps_under_load.py --detect-clients 2 writes swaps_under_mixed_load)
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0].endswith(".py") else f"{name}.py"
    command = " ".join([".venv/bin/python", f"bench/{script}", *sys.argv[1:]])
    body = {"benchmark": name, "command": command, **payload}
    body["machine"] = machine()
    body["load_average_at_end"] = loadavg()
    part = path.with_suffix(".json.part")
    part.write_text(json.dumps(body, indent=2, sort_keys=False) + "\n")
    part.replace(path)
    print(f"wrote {path}", flush=True)
    return path


def percentiles(values_ms, qs=(50, 90, 99)) -> dict:
    import numpy as np

    values = np.asarray(values_ms, dtype=np.float64)
    if values.size == 0:
        return {f"p{q}": None for q in qs} | {"max": None, "n": 0}
    out = {f"p{q}": round(float(np.percentile(values, q)), 3) for q in qs}
    out["max"] = round(float(values.max()), 3)
    out["mean"] = round(float(values.mean()), 3)
    out["n"] = int(values.size)
    return out


# --- HTTP, stdlib only ----------------------------------------------------------------------------------


def http(method: str, url: str, *, body: dict | None = None, token: str | None = None, timeout: float = 60):
    """(status, parsed JSON or text) with the standard library: the bench's control calls."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def settings_module(folder: Path, name: str, changed: dict[str, object]) -> dict[str, str]:
    """The variables that run a server on Atlas's settings with the tuning settings in `changed` (name -> a
    literal) written over them: a settings module `name` in `folder`, as docs/OPERATIONS.md tells a deployment."""
    lines = ["from atlas.settings import *  # noqa: F403", *(f"{key} = {value!r}" for key, value in changed.items())]
    (folder / f"{name}.py").write_text("\n".join(lines) + "\n")
    return {"DJANGO_SETTINGS_MODULE": name, "PYTHONPATH": os.pathsep.join([str(folder), str(REPO)])}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- gunicorn --------------------------------------------------------------------------------------------


class Gunicorn:
    """One gunicorn on 127.0.0.1 (its own process group), stopped by stop() or by the World."""

    def __init__(
        self,
        *,
        name: str,
        folder: Path,
        env: dict,
        workers: int,
        config: str | None,
        app: str | None = None,
        cwd: Path = REPO,
        serve: bool = False,
        serve_app: str = "atlas.granian_app:application",
    ):
        """config=None: `gunicorn APP -w N` with no -c (run from `cwd`: the repository root reads its
        ./gunicorn.conf.py; a folder without one runs gunicorn with no config file at all).
        serve=True: the Procfile's `web:` command (granian), as `make run` and a Procfile runner start it,
        serving `serve_app` (the same server and options for another WSGI app)."""
        self.name = name
        self.cwd = cwd
        self.folder = folder
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"gunicorn-{name}.log"
        self.env = {**env, "WEB_CONCURRENCY": str(workers)}
        self.command = [
            str(VENV_BIN / "gunicorn"),
            *(["-c", config] if config else []),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        self.command += ["--workers", str(workers)]
        if app:
            self.command.append(app)
        if serve:
            web = procfile_command("web")
            atlas_app = "atlas.granian_app:application"
            if atlas_app not in web:
                raise ValueError(f"the Procfile's web: line does not serve {atlas_app}: {web}")
            self.command = ["/bin/sh", "-c", f"exec {web.replace(atlas_app, serve_app)}"]
            path = f"{VENV_BIN}{os.pathsep}{self.env.get('PATH', os.defpath)}"  # granian is the venv's
            self.env |= {"HOST": "127.0.0.1", "PORT": str(self.port), "PATH": path}
        self.process: subprocess.Popen | None = None

    def start(self, *, probe: str | None = "/healthz", timeout: float = 120) -> Gunicorn:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def up() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if len(self.worker_pids()) != self.workers:
                return False
            try:
                if probe is None:  # only the socket: leaves the workers' first request untouched
                    socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
                else:
                    http("GET", self.url + probe, timeout=5)  # any HTTP answer: /healthz is 503 with no model
            except OSError:
                return False
            return True

        wait_until(up, timeout=timeout, interval=0.1, what=f"gunicorn {self.name} on {self.url}")
        return self

    def worker_pids(self) -> list[int]:
        """Every worker (the children of the server's master)."""
        import psutil

        if self.process is None:
            return []
        try:
            return sorted(worker.pid for worker in psutil.Process(self.process.pid).children())
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- the world -------------------------------------------------------------------------------------------


class World:
    """A temporary folder, a fresh PostgreSQL database, optionally SeaweedFS, and the servers started in it."""

    def __init__(self, name: str, *, s3: bool = False, keep: bool = False) -> None:
        self.name = name
        self.s3 = s3
        self.keep = keep
        self.folder = Path(tempfile.mkdtemp(prefix=f"atlas-bench-{name}-"))
        self.db_name = f"atlas_bench_{name}_{secrets.token_hex(4)}".lower()
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.db_name
        self.servers: list[Gunicorn] = []
        self.subprocesses: list[subprocess.Popen] = []
        self.seaweed = None
        self.bucket = "atlas-bench"
        self._closed = False

    # env for every process of this world (and for this one, before django.setup())
    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "atlas.settings",
            "SECRET_KEY": "bench-" + self.db_name,
            "DEBUG": "0",
            "ATLAS_ENV": "bench",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": self.database_url,
            "ATLAS_VAR_DIR": str(self.folder / "var"),
            "MODEL_STORAGE_PATH": str(self.folder / "store"),
            "MODEL_CACHE_DIR": str(self.folder / "cache"),
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
            # the benches keep detections busy and promote in quick succession from one address: they measure
            # the service, not its rate limits
            "ATLAS_THROTTLE_RATES": "detect=off,audio=off,admin_reload=off",
        }
        env.pop("ACCESS_LOG", None)
        if self.seaweed is not None:
            endpoint = self.seaweed.endpoint
            env |= {
                "MODEL_STORAGE_TYPE": "s3",
                "S3_ENDPOINT_URL": endpoint.endpoint_url,
                "S3_ACCESS_KEY": endpoint.access_key,
                "S3_SECRET_KEY": endpoint.secret_key,
                "S3_REGION": endpoint.region,
                "S3_BUCKET": self.bucket,
            }
        return env | extra

    def __enter__(self) -> World:
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        if self.s3:
            from tests.servers.seaweedfs import SeaweedFS

            self.seaweed = SeaweedFS(self.folder / "seaweedfs").start()
            self.seaweed.client().create_bucket(Bucket=self.bucket)
        print(f"world {self.name}: {self.folder}, database {self.db_name}", flush=True)
        return self

    def _on_signal(self, signum, frame) -> None:
        self.close()
        raise SystemExit(128 + signum)

    def __exit__(self, *exc) -> None:
        self.close()

    def gunicorn(
        self,
        name: str,
        *,
        workers: int = 2,
        config: str | None = "atlas/gunicorn.conf.py",
        app: str | None = None,
        env: dict | None = None,
        probe: str | None = "/healthz",
        cwd: Path = REPO,
    ) -> Gunicorn:
        server = Gunicorn(
            name=name, folder=self.folder, env=self.env(**(env or {})), workers=workers, config=config, app=app, cwd=cwd
        )
        self.servers.append(server)
        return server.start(probe=probe)

    def serve(
        self,
        name: str,
        *,
        workers: int = 2,
        env: dict | None = None,
        probe: str | None = "/healthz",
        app: str = "atlas.granian_app:application",
    ) -> Gunicorn:
        """Atlas as the Procfile and `make run` start it: its `web:` command (granian); `app` serves another WSGI
        application under the same command (bench/bare_wsgi.py)."""
        server = Gunicorn(
            name=name,
            folder=self.folder,
            env=self.env(**(env or {})),
            workers=workers,
            config=None,
            serve=True,
            serve_app=app,
        )
        self.servers.append(server)
        return server.start(probe=probe)

    def popen(self, command: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(command, cwd=REPO, start_new_session=True, **kwargs)
        self.subprocesses.append(process)
        return process

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for process in self.subprocesses:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
        for server in self.servers:
            server.stop()
        if self.seaweed is not None:
            self.seaweed.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 -- Django may not be set up in this process
            pass
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as exc:  # noqa: BLE001
            print(f"could not drop database {self.db_name}: {exc}", file=sys.stderr)
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)


def setup_django(world: World, *, migrate: bool = True) -> None:
    """Configure Django in this process against `world` (settings read os.environ) and migrate."""
    os.environ.update(world.env())
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
