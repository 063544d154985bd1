"""Benchmark: coherence under a plain `gunicorn atlas.wsgi -w 3`, and /healthz behind slow clients (issue 9).

    .venv/bin/python bench/coherence.py [--promotions 10] [--no-wait] [--skip-slow] [--skip-coherence]

Phase 1 (coherence): `gunicorn atlas.wsgi -w 3`, PostgreSQL (LISTEN/NOTIFY + 0.5 s poll), local store, two
digit_classifier versions, 1.0.0 active. Two ways of starting it:
  repo-root   run from the repository root: gunicorn reads ./gunicorn.conf.py (the hooks preload);
  no-config   run from an empty folder: no config file at all; each worker starts serving on its first
              request (inference.middleware), so bursts of /livez wake all three first.
Then --promotions promotions through the admin API (reload-models), alternating 1.1.0 / 1.0.0, 0.5 s apart,
each timed from the call to the last of the 3 workers serving the new version (WorkerReport.loaded_at).

Phase 2 (slow clients): gunicorn -c atlas/gunicorn.conf.py (sync workers, WEB_CONCURRENCY=2), the default
config. Two slow clients each declare a 1000-byte body and send 5 bytes, then hold the connection; once
both are seen held by the two workers (psutil, the workers' ESTABLISHED sockets), one GET /healthz is
timed to its answer. Targets: POST /predict (a view that reads its body) and GET /healthz itself (a body
nobody reads). Each with gunicorn's --timeout 60 (the default) and 10 (the only mitigation in the config).
Writes bench/results/coherence.json.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.world import World, http, percentiles, setup_django, wait_for_quiet, wait_until, write_result  # noqa: E402

MODEL = "digit_classifier"


def wake_every_worker(server, pids: list[int]) -> None:
    """No config file: a worker starts serving on its first request. Bursts of concurrent /livez (a busy
    sync worker does not accept, so a burst spreads) until each of `pids` reports the active version."""
    from concurrent.futures import ThreadPoolExecutor

    from models_registry.models import WorkerReport

    def burst() -> bool:
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda _: http("GET", server.url + "/livez", timeout=10), range(6)))
        return WorkerReport.objects.filter(model__name=MODEL, pid__in=pids, version__isnull=False).count() == len(pids)

    wait_until(burst, timeout=60, interval=0.2, what="every worker serving")


def coherence(world: World, versions, *, mode: str, promotions: int) -> dict:
    from django.db import connections

    from bench.swapping import promotions_json, run_promotions, switch_stats

    cwd = Path(tempfile.mkdtemp(dir=world.folder, prefix="no-config-")) if mode == "no-config" else None
    kwargs = {"cwd": cwd} if cwd else {}
    server = world.gunicorn(f"coherence-{mode}", workers=3, config=None, app="atlas.wsgi", probe="/livez", **kwargs)
    pids = server.worker_pids()
    wake_every_worker(server, pids)
    connections.close_all()
    order = [("1.1.0", versions[1].pk), ("1.0.0", versions[0].pk)]
    done = run_promotions([server.url], order, pids, count=promotions, spacing_s=0.5)
    server.stop()
    # back to 1.0.0 for the next mode
    from models_registry import services

    if promotions % 2:
        services.model_version_promote(version=versions[0], actor="bench")
    where = "the repository root: ./gunicorn.conf.py read" if cwd is None else "an empty folder: no config file"
    return {
        "command": f"gunicorn atlas.wsgi -w 3, run from {where}",
        "switch": switch_stats(done),
        "promotions": promotions_json(done),
    }


def _held_by_workers(pids: list[int], ports: set[int]) -> bool:
    import psutil

    seen = set()
    for pid in pids:
        try:
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if conn.status == psutil.CONN_ESTABLISHED and conn.raddr:
                    seen.add(conn.raddr.port)
        except psutil.NoSuchProcess:
            continue
    return ports <= seen


def slow_clients(world: World, *, timeout_s: int, target: str) -> dict:
    server = world.gunicorn(
        f"slow-{target.strip('/')}-{timeout_s}", workers=2, env={"GUNICORN_CMD_ARGS": f"--timeout {timeout_s}"}
    )
    pids = server.worker_pids()
    baseline = []
    for _ in range(20):
        started = time.perf_counter()
        http("GET", server.url + "/healthz", timeout=10)
        baseline.append((time.perf_counter() - started) * 1000)
    method = "POST" if target == "/predict" else "GET"
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    clients = []
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(head + b'{"pix')  # 5 of the 1000 bytes declared
        clients.append(sock)
    ports = {sock.getsockname()[1] for sock in clients}
    try:
        wait_until(lambda: _held_by_workers(pids, ports), timeout=10, interval=0.01, what="both workers held")
        held = True
    except AssertionError:
        held = False  # a worker already answered one (the /healthz target): time /healthz anyway
    started = time.perf_counter()
    status, _ = http("GET", server.url + "/healthz", timeout=timeout_s * 3 + 30)
    healthz_ms = (time.perf_counter() - started) * 1000
    for sock in clients:
        sock.close()
    server.stop()
    log = server.log_path.read_text(errors="replace").splitlines()
    seen = [line for line in log if any(word in line for word in ("TIMEOUT", "SIGABRT", "SIGKILL", "Booting worker"))]
    return {
        "gunicorn_timeout_s": timeout_s,
        "slow_target": f"{method} {target}",
        "both_workers_held_before_healthz": held,
        "healthz_status": status,
        "healthz_ms": round(healthz_ms, 1),
        "healthz_baseline_ms": percentiles(baseline),
        "gunicorn_log": seen[-10:],
    }


def deadline_cost(world: World, versions, *, rounds: int, duration_s: int) -> dict | None:
    """/predict throughput with the body deadline on (ATLAS_BODY_IDLE_SECONDS=1, the default) and off (0),
    the two servers alternating (wrk, 4 connections): what the slow-client fix costs."""
    from bench.digits import sample_digit_body
    from bench.measure import run_wrk, wrk_available
    from models_registry import services

    if not wrk_available():
        return None
    services.model_version_promote(version=versions[0], actor="bench")
    body_file = world.folder / "deadline-body.json"
    body_file.write_bytes(sample_digit_body())
    on = world.gunicorn("deadline-on", workers=2)
    off = world.gunicorn("deadline-off", workers=2, env={"ATLAS_BODY_IDLE_SECONDS": "0"})
    for server in (on, off):
        run_wrk(server.url + "/predict", body_file=body_file, connections=4, duration_s=2)  # warm-up
    runs = []
    for _ in range(rounds):
        with_deadline = run_wrk(on.url + "/predict", body_file=body_file, connections=4, duration_s=duration_s)
        without = run_wrk(off.url + "/predict", body_file=body_file, connections=4, duration_s=duration_s)
        runs.append(
            {
                "on_rps": with_deadline["rps"],
                "off_rps": without["rps"],
                "ratio": round(with_deadline["rps"] / without["rps"], 3),
            }
        )
        print("deadline", runs[-1], flush=True)
    on.stop()
    off.stop()
    return {"rounds": runs, "ratio_on_over_off_median": statistics.median(r["ratio"] for r in runs)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--promotions", type=int, default=10)
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--skip-coherence", action="store_true")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    from bench.swaps_under_load import register_two

    result: dict = {
        "settings": {
            "workers": {"coherence": 3, "slow_clients": 2},
            "worker_class": "sync",
            "storage": "local",
            "database": "one PostgreSQL database (LISTEN/NOTIFY + 0.5 s poll)",
            "promotions": args.promotions,
            "switch_window": "from the reload call to the last worker's WorkerReport.loaded_at",
            "slow_client": "declares Content-Length: 1000, sends 5 bytes, holds the connection",
        },
        "load_gate": gate,
    }
    with World("coherence") as world:
        setup_django(world)
        from django.db import connections

        versions = register_two(world, storage="local")
        connections.close_all()
        if not args.skip_coherence:
            result["coherence"] = {
                mode: coherence(world, versions, mode=mode, promotions=args.promotions)
                for mode in ("repo-root", "no-config")
            }
            for mode, figures in result["coherence"].items():
                print(mode, figures["switch"], flush=True)
        if not args.skip_slow:
            runs = []
            for target in ("/predict", "/healthz"):
                for timeout_s in (60, 10):
                    runs.append(slow_clients(world, timeout_s=timeout_s, target=target))
                    print(runs[-1], flush=True)
            result["slow_clients"] = runs
            result["body_deadline_cost"] = deadline_cost(world, versions, rounds=5, duration_s=6)
    if "coherence" in result:
        result["summary"] = {
            mode: {
                "median_s": figures["switch"]["call_to_last_worker_s"]["median"],
                "max_s": figures["switch"]["call_to_last_worker_s"]["max"],
            }
            for mode, figures in result["coherence"].items()
        }
        result["summary"]["all_median_s"] = statistics.median(
            p["last_switch_s"] for figures in result["coherence"].values() for p in figures["promotions"]
        )
    write_result("coherence", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
