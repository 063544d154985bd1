"""Measuring: the load generator in its own process, wrk as a cross-check, in-process timers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.world import REPO, World, percentiles

LOADGEN = REPO / "bench" / "loadgen.py"
WRK_LUA = REPO / "bench" / "wrk_post.lua"


def start_loadgen(
    world: World,
    *,
    urls: list[str],
    out: Path,
    body_file: Path | None,
    concurrency: int,
    duration: float,
    extra: list[str] | None = None,
) -> subprocess.Popen:
    command = [
        sys.executable,
        str(LOADGEN),
        "--out",
        str(out),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
    ]
    for url in urls:
        command += ["--url", url]
    if body_file is not None:
        command += ["--body-file", str(body_file)]
    return world.popen(command + (extra or []), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish_loadgen(process: subprocess.Popen, out: Path, *, timeout: float) -> dict:
    output, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"loadgen failed ({process.returncode}): {output.decode(errors='replace')[-2000:]}")
    with np.load(out, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def run_loadgen(world: World, **kwargs) -> dict:
    process = start_loadgen(world, **kwargs)
    return finish_loadgen(process, kwargs["out"], timeout=kwargs["duration"] + 90)


def summarize(records: dict, *, mask: np.ndarray | None = None, elapsed: float | None = None) -> dict:
    """req/s, latency percentiles (ms) and non-200 count for the requests selected by `mask`."""
    status = records["status"]
    latency = (records["t_done"] - records["t_send"]) * 1000
    if mask is not None:
        status, latency = status[mask], latency[mask]
    elapsed = float(records["elapsed"]) if elapsed is None else elapsed
    return {
        "requests": int(status.size),
        "non_200": int((status != 200).sum()),
        "connection_errors": int((status == -1).sum()),
        "rps": round(status.size / elapsed, 1) if elapsed > 0 else None,
        "latency_ms": percentiles(latency),
    }


# --- wrk, when installed ---------------------------------------------------------------------------------

WRK_HINT = "wrk is not installed (optional cross-check): apt-get install -y wrk"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    *,
    body_file: Path | None,
    connections: int,
    duration_s: int,
    threads: int = 1,
    content_type: str = "application/json",
    infer_header: int | None = None,
) -> dict:
    """One wrk run (keep-alive attempted; gunicorn's sync workers close each connection, wrk reconnects).
    infer_header: the Open Inference Protocol's Inference-Header-Content-Length of a binary body."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency", "--timeout", "30s"]
    env = None
    if body_file is not None:
        import os

        command += ["-s", str(WRK_LUA)]
        env = {**os.environ, "BENCH_BODY": str(body_file), "BENCH_CONTENT_TYPE": content_type}
        if infer_header is not None:
            env["BENCH_INFER_HEADER"] = str(infer_header)
    output = subprocess.run(
        command + [url], capture_output=True, text=True, timeout=duration_s + 60, env=env, check=True
    ).stdout

    def grab(pattern: str, cast=float):
        match = re.search(pattern, output)
        return cast(match.group(1)) if match else None

    def ms(pattern: str):
        match = re.search(pattern, output)
        if not match:
            return None
        value, unit = float(match.group(1)), match.group(2)
        return round(value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 3)

    return {
        "rps": grab(r"Requests/sec:\s+([\d.]+)"),
        "requests": grab(r"(\d+) requests in", int),
        "non_2xx": grab(r"Non-2xx or 3xx responses: (\d+)", int) or 0,
        "socket_errors": (re.search(r"Socket errors:.*", output) or [None])[0],
        "latency_ms": {
            "p50": ms(r"50%\s+([\d.]+)(us|ms|s)"),
            "p99": ms(r"99%\s+([\d.]+)(us|ms|s)"),
            "max": ms(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)"),
        },
        "command": " ".join(command + [url]),
    }


# --- in-process timing ----------------------------------------------------------------------------------


def time_calls(fn: Callable[[], object], *, min_seconds: float = 2.0, max_calls: int = 200_000) -> dict:
    """Call fn repeatedly (bounded in time and count); per-call microseconds, median of batches."""
    for _ in range(20):
        fn()
    batch_times, calls = [], 0
    started = time.perf_counter()
    while time.perf_counter() - started < min_seconds and calls < max_calls:
        t0 = time.perf_counter()
        for _ in range(100):
            fn()
        batch_times.append((time.perf_counter() - t0) / 100)
        calls += 100
    per_call = np.asarray(batch_times) * 1e6
    return {
        "median_us": round(float(np.median(per_call)), 2),
        "min_us": round(float(per_call.min()), 2),
        "calls": calls,
    }


def wsgi_caller(app, *, method: str, path: str, body: bytes = b"") -> Callable[[], tuple[str, bytes]]:
    """A no-socket call of a WSGI app, as gunicorn makes it (for in-process timing and profiling)."""

    from tests.wsgi import environ_for  # the tests' own request environ (bench/world.py uses tests/ helpers too)

    def call() -> tuple[str, bytes]:
        environ = environ_for(body, path=path, method=method)
        status = []
        chunks = app(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            payload = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return status[0], payload

    return call
