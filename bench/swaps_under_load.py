"""Benchmark 2: ten promotions through the admin API while POST /predict runs under load.

    .venv/bin/python bench/swaps_under_load.py [--steady 10] [--promotions 10] [--spacing 2] [--concurrency 4]

Atlas as the Procfile starts it (its `web:` command: 2 granian workers, each with its LISTEN/NOTIFY listener;
--server gunicorn: atlas/gunicorn.conf.py's 2 sync workers) on a fresh
PostgreSQL database, local artifact store, two digit_classifier versions (numpy_mlp 784-100-10, different
weights) with 1.0.0 active. bench/loadgen.py drives /predict (as in benchmark 1) and records every answer's
send time, status and "version". After --steady seconds of steady state, the promotions alternate
1.1.0 / 1.0.0 every --spacing seconds via POST /api/v1/admin/reload-models; after each, the WorkerReport
rows say when each worker swapped. Reported: non-200 answers (must be 0), answers naming a version other
than the active one beyond the switch window (must be 0), call -> last worker switched (median, max), and
latency p50/p99/max in steady state vs during the swaps. Writes bench/results/swaps_under_load.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import sample_digit_body, write_digit_npz  # noqa: E402
from bench.mixed_load import detect_loop, photo  # noqa: E402
from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402

SERVERS = {"serve": "the Procfile's web: command (granian)", "gunicorn": "gunicorn sync"}


def register_two(world: World, *, storage: str) -> list:
    from models_registry import services

    versions = []
    for version, seed in (("1.0.0", 1), ("1.1.0", 2)):
        path = write_digit_npz(world.folder / f"digits-{version}.npz", seed=seed)
        versions.append(
            services.model_version_register(
                model_name="digit_classifier",
                version=version,
                source=path,
                runtime="numpy_mlp",
                storage=storage,
                actor="bench",
            )
        )
    services.model_version_promote(version=versions[0], actor="bench")
    return versions


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steady", type=float, default=10.0)
    parser.add_argument("--promotions", type=int, default=10)
    parser.add_argument("--spacing", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--server",
        choices=("serve", "gunicorn"),
        default="serve",
        help="serve: the Procfile's web: command (granian); gunicorn: sync workers",
    )
    parser.add_argument(
        "--detect-clients",
        type=int,
        default=0,
        help="threads keeping /api/v1/detect busy (the demo YOLOv8n detector) all along: the result is then "
        "written as swaps_under_mixed_load",
    )
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()
    server_env = dict(pair.split("=", 1) for pair in args.env)
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    from bench.measure import finish_loadgen, run_loadgen, start_loadgen
    from bench.swapping import judge, promotions_json, run_promotions, switch_stats, wait_switched  # noqa: F401

    with World("swaps") as world:
        setup_django(world)
        from django.db import connections

        v1, v2 = register_two(world, storage="local")
        if args.detect_clients:
            import io

            from django.core.management import call_command

            from inference.management.commands import seed_demo

            seed_demo.DEMO_BUILDERS = ["inference.demo.vision.build"]  # the YOLOv8n demo detector
            call_command("seed_demo", stdout=io.StringIO())
        connections.close_all()
        body_file = world.folder / "body.json"
        body_file.write_bytes(sample_digit_body())
        if args.server == "serve":
            atlas = world.serve("atlas", workers=args.workers, env=server_env)
        else:
            atlas = world.gunicorn("atlas", workers=args.workers, env=server_env)
        pids = atlas.worker_pids()  # every worker must switch
        url = atlas.url + "/predict"
        run_loadgen(
            world,
            urls=[url],
            out=world.folder / "warmup.npz",
            body_file=body_file,
            concurrency=args.concurrency,
            duration=2.0,
        )
        duration = args.steady + args.promotions * args.spacing + 12
        out = world.folder / "load.npz"
        started = time.time()
        load = start_loadgen(
            world, urls=[url], out=out, body_file=body_file, concurrency=args.concurrency, duration=duration
        )
        stop, detections, detect_failures = threading.Event(), [], []
        detect_threads = [
            threading.Thread(
                target=detect_loop, args=(atlas.url + "/api/v1/detect", photo(), stop, detections, detect_failures)
            )
            for _ in range(args.detect_clients)
        ]
        for thread in detect_threads:
            thread.start()
        time.sleep(args.steady)  # the steady-state stretch (bounded: --steady seconds)
        promotions = run_promotions(
            [atlas.url], [("1.1.0", v2.pk), ("1.0.0", v1.pk)], pids, count=args.promotions, spacing_s=args.spacing
        )
        records = finish_loadgen(load, out, timeout=duration + 90)
        stop.set()
        for thread in detect_threads:
            thread.join()
        verdict = judge(records, promotions, initial="1.0.0", steady_from=started + 1.0)
        print(json.dumps(verdict, indent=1), flush=True)

    result = {
        "settings": {
            "workers": args.workers,
            "server": SERVERS[args.server]
            + "".join(f", {key}={value}" for key, value in server_env.items())
            + (f", /api/v1/detect kept busy by {args.detect_clients} clients" if args.detect_clients else ""),
            "concurrency": args.concurrency,
            "steady_s": args.steady,
            "promotions": args.promotions,
            "spacing_s": args.spacing,
            "storage": "local",
            "database": "PostgreSQL (LISTEN/NOTIFY + 0.5 s poll)",
            "model": "numpy_mlp 784-100-10, versions 1.0.0 and 1.1.0",
            "load_generator": "bench/loadgen.py (records every answer's version)",
            "switch_window": "from the reload call to the last worker's WorkerReport.loaded_at",
        },
        "load_gate": gate,
        "switch": switch_stats(promotions),
        "answers": verdict,
        "promotions": promotions_json(promotions),
    }
    if args.detect_clients:
        result["detections"] = {"answered": len(detections), "failed": detect_failures[:10]}
    write_result("swaps_under_mixed_load" if args.detect_clients else "swaps_under_load", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
