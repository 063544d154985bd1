"""Where /predict's gap to the bare app goes, part by part, in CPU per request (issue 24).

    .venv/bin/python bench/predict_breakdown.py [--rounds 6] [--duration 4] [--threads 1,32] [--no-wait]

Throughput on a shared 2-core machine moves by +-10% from run to run, more than the parts measured here. This
bench measures what each server's worker spends instead: the CPU time of its threads over a wrk run at 4
connections, per request answered, read from /proc (user + system). With `--blocking-threads 1` one granian
thread runs all of a worker's Python, and its CPU per request (`busiest_thread`) is the GIL-serialised cost
that bounds the worker's throughput; `all_threads` is the whole worker process's (with the Procfile's 32, the
threads' GIL hand-offs, futex waits and context switches, included).

The apps, each under the Procfile's `web:` granian command with 1 worker (only `--blocking-threads` changed),
all alternating for --rounds rounds of --duration seconds:
  bare      bench/bare_wsgi.py: parse, forward pass, orjson
  minimal, headers, scope, atlas   bench/hot_path_variants.py: Atlas's process with its hot path built up part
            by part, from `predict_answer` alone to the whole of it
Each round's ratio is bare's CPU per request over the app's (1.0: costs what bare does); the medians are
reported. Writes bench/results/predict_breakdown.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import sample_digit_body  # noqa: E402
from bench.predict_throughput import register_and_promote  # noqa: E402
from bench.world import Gunicorn, World, loadavg, setup_django, wait_for_quiet, write_result  # noqa: E402

APPS = {
    "bare": "bench.bare_wsgi:application",
    "minimal": "bench.hot_path_variants:minimal",
    "headers": "bench.hot_path_variants:headers",
    "scope": "bench.hot_path_variants:scope",
    "atlas": "bench.hot_path_variants:atlas",
}
PROCFILE_THREADS = "--blocking-threads 32"


def cpu_seconds(stat: Path) -> float:
    """User + system CPU seconds from a /proc stat file (a process's counts its ended threads too)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of the process `pid` (key "process") and of each of its threads (by thread id) so far."""
    cpu = {"process": cpu_seconds(Path(f"/proc/{pid}/stat"))}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            cpu[tid] = cpu_seconds(Path(f"/proc/{pid}/task/{tid}/stat"))
        except FileNotFoundError:  # the thread ended
            continue
    return cpu


def median_ratio(top: list[dict], bottom: list[dict], field: str) -> float:
    """The median over rounds of top's `field` over bottom's in the same round."""
    return round(statistics.median(t[field] / b[field] for t, b in zip(top, bottom, strict=True)), 3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--threads", default="1,32", help="granian --blocking-threads values, comma-separated")
    parser.add_argument("--no-wait", action="store_true", help="skip the load-average gate")
    args = parser.parse_args()
    gate = {"skipped": True, "load_at_start": loadavg()} if args.no_wait else wait_for_quiet()
    from bench.measure import run_wrk

    thread_counts = [int(t) for t in args.threads.split(",")]
    with World("breakdown") as world:
        setup_django(world)
        from models_registry import services

        model_path, version = register_and_promote(world, version="1.0.0", seed=1)
        services.model_version_promote(version=version, actor="bench")
        body_file = world.folder / "body.json"
        body_file.write_bytes(sample_digit_body())

        servers = {}
        for threads in thread_counts:
            for name, app in APPS.items():
                server = Gunicorn(
                    name=f"{name}-{threads}",
                    folder=world.folder,
                    env=world.env(BARE_MODEL_PATH=str(model_path)),
                    workers=1,
                    config=None,
                    serve=True,
                    serve_app=app,
                )
                command = server.command[-1]
                if PROCFILE_THREADS not in command:
                    raise RuntimeError(f"the Procfile's web: line has no {PROCFILE_THREADS!r}: {command}")
                server.command[-1] = command.replace(PROCFILE_THREADS, f"--blocking-threads {threads}")
                world.servers.append(server)
                servers[(name, threads)] = server.start(probe="/healthz")
                run_wrk(server.url + "/predict", body_file=body_file, connections=4, duration_s=2)  # warm-up

        rows: dict[tuple[str, int], list[dict]] = {key: [] for key in servers}
        for round_ in range(args.rounds):
            for key, server in servers.items():
                pid = server.worker_pids()[0]
                before = thread_cpu(pid)
                out = run_wrk(server.url + "/predict", body_file=body_file, connections=4, duration_s=args.duration)
                after = thread_cpu(pid)
                if out["non_2xx"]:
                    raise RuntimeError(f"{key} answered {out['non_2xx']} non-2xx")
                spent = [after[t] - before[t] for t in before if t in after and t != "process"]
                n = out["requests"]
                busiest, total = max(spent) / n * 1e6, (after["process"] - before["process"]) / n * 1e6
                rows[key].append({"rps": out["rps"], "busiest_thread_us": busiest, "all_threads_us": total})
            print(f"round {round_ + 1}/{args.rounds} done (load {loadavg()[0]})", flush=True)

        result: dict = {"gate": gate, "rounds": args.rounds, "duration_s": args.duration, "by_threads": {}}
        for threads in thread_counts:
            bare = rows[("bare", threads)]
            table = {}
            for name in APPS:
                mine = rows[(name, threads)]
                table[name] = {
                    "rps": round(statistics.median(r["rps"] for r in mine)),
                    # rps: the app's over bare's; CPU: bare's over the app's (both: 1.0 is bare's cost)
                    "rps_ratio": median_ratio(mine, bare, "rps"),
                    "busiest_thread_us": round(statistics.median(r["busiest_thread_us"] for r in mine), 1),
                    "busiest_thread_ratio": median_ratio(bare, mine, "busiest_thread_us"),
                    "all_threads_us": round(statistics.median(r["all_threads_us"] for r in mine), 1),
                    "all_threads_ratio": median_ratio(bare, mine, "all_threads_us"),
                }
                print(f"--blocking-threads {threads:>2} {name:8s} {json.dumps(table[name])}", flush=True)
            result["by_threads"][str(threads)] = table
        write_result("predict_breakdown", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
