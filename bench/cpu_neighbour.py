"""Benchmark: /predict's p99 next to a busy loop at the lowest CPU priority, on any CPU or held to the last one.

    .venv/bin/python bench/cpu_neighbour.py [--rounds 3] [--splits 4] [--no-wait]

Why the slow pool is pinned (inference/pool_cpus.py). One world (fresh PostgreSQL database, local store, the
digit network active) and granian's 2 web workers as scripts/serve starts them, without a slow pool
(ATLAS_SLOW_POOL_WORKERS=0), so that nothing but the neighbour competes. Each round measures /predict (wrk,
2 connections, --splits runs of 2 s on new connections, the median p99 the phase's, as in mixed_load) in
three phases, interleaved:
  alone        nothing else runs
  idle, any    a Python busy loop at nice 19 in SCHED_IDLE, free to run on any CPU (the pool before pinning)
  idle, last   the same loop held to the last CPU (taskset), as the pool is now
and reports each phase's p99 over alone's. The loop is no model: what it shows is the scheduler's, whatever
the neighbour computes. Writes bench/results/cpu_neighbour.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import sample_digit_body, write_digit_npz  # noqa: E402
from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402

BUSY_LOOP = "while True: pass"
LOWEST = ["chrt", "--idle", "0", "nice", "-n", "19"]


def neighbours() -> dict[str, list[str] | None]:
    last = str(max(os.sched_getaffinity(0)))
    return {"alone": None, "idle, any CPU": LOWEST, "idle, last CPU": ["taskset", "-c", last, *LOWEST]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--splits", type=int, default=4, help="wrk runs of 2 s per phase, each on new connections")
    parser.add_argument("--no-wait", action="store_true", help="skip the load-average gate")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    from bench.measure import WRK_HINT, run_wrk, wrk_available

    if not wrk_available():
        print(WRK_HINT, file=sys.stderr)
        return 2
    phases: dict[str, list[dict]] = {name: [] for name in neighbours()}
    with World("neighbour") as world:
        setup_django(world)
        from models_registry import services

        source = write_digit_npz(world.folder / "digits.npz", seed=1)
        version = services.model_version_register(
            model_name="digit_classifier", version="1.0.0", source=source, runtime="numpy_mlp", actor="bench"
        )
        services.model_version_promote(version=version, actor="bench")
        body_file = world.folder / "body.json"
        body_file.write_bytes(sample_digit_body())
        server = world.serve("web", workers=2, env={"ATLAS_SLOW_POOL_WORKERS": "0"})
        url = server.url + "/predict"
        run_wrk(url, body_file=body_file, connections=2, duration_s=2)  # warm-up
        for i in range(args.rounds):
            for name, prefix in neighbours().items():
                loop = None if prefix is None else world.popen([*prefix, sys.executable, "-c", BUSY_LOOP])
                try:
                    if loop is not None:
                        time.sleep(0.5)  # the loop is running before /predict is measured
                    runs = [run_wrk(url, body_file=body_file, connections=2, duration_s=2) for _ in range(args.splits)]
                finally:
                    if loop is not None:
                        loop.kill()
                        loop.wait()
                p99s = [run["latency_ms"]["p99"] for run in runs]
                figures = {
                    "p99_ms": statistics.median(p99s),
                    "p99_of_each_run": p99s,
                    "rps_of_each_run": [run["rps"] for run in runs],
                }
                phases[name].append(figures)
                print(f"round {i} {name}: p99 {figures['p99_ms']} ms {p99s}", flush=True)
        server.stop()
    results = {}
    for name, measured in phases.items():
        results[name] = {
            "p99_ms_rounds": [m["p99_ms"] for m in measured],
            "p99_over_alone_rounds": [
                round(m["p99_ms"] / alone["p99_ms"], 2) for m, alone in zip(measured, phases["alone"], strict=True)
            ],
            "runs": measured,
        }
        results[name]["p99_over_alone"] = statistics.median(results[name]["p99_over_alone_rounds"])
    write_result(
        "cpu_neighbour",
        {
            "settings": {
                "server": "scripts/serve, 2 granian web workers, ATLAS_SLOW_POOL_WORKERS=0",
                "predict_connections": 2,
                "wrk_runs_per_phase": args.splits,
                "rounds": args.rounds,
                "neighbour": f"python -c '{BUSY_LOOP}' under {' '.join(LOWEST)}",
            },
            "load_gate": gate,
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
