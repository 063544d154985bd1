"""Benchmark 3: two replicas (two gunicorn instances) on one PostgreSQL and one SeaweedFS (S3 storage).

    .venv/bin/python bench/two_replicas.py [--steady 10] [--promotions 10] [--idle-promotions 20]

Each replica: atlas/gunicorn.conf.py, 2 sync workers, its own MODEL_CACHE_DIR; MODEL_STORAGE_TYPE=s3
against a SeaweedFS `weed mini` on 127.0.0.1 (real SigV4). Two digit_classifier versions live in S3,
1.0.0 active.
  phase 1  bench/loadgen.py drives /predict on both replicas (clients alternate between them); after
           --steady seconds, --promotions promotions alternate 1.1.0 / 1.0.0, the reload call going to
           replica A, then B, then A...; judged as in benchmark 2 (non-200, stale answers, switch time, p99).
  phase 2  no load: --idle-promotions more promotions, alternating versions and replicas, each timed
           from the reload call to the last of the 4 workers serving the new version (WorkerReport rows):
           issue 3's figure, target < 1 s.
Writes bench/results/two_replicas.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import sample_digit_body  # noqa: E402
from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steady", type=float, default=10.0)
    parser.add_argument("--promotions", type=int, default=10)
    parser.add_argument("--idle-promotions", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="per replica")
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    from bench.measure import finish_loadgen, run_loadgen, start_loadgen
    from bench.swapping import judge, promotions_json, run_promotions, switch_stats
    from bench.swaps_under_load import register_two

    with World("replicas", s3=True) as world:
        setup_django(world)
        from django.db import connections

        v1, v2 = register_two(world, storage="s3")
        connections.close_all()
        body_file = world.folder / "body.json"
        body_file.write_bytes(sample_digit_body())
        replicas = [
            world.gunicorn(name, workers=args.workers, env={"MODEL_CACHE_DIR": str(world.folder / f"cache-{name}")})
            for name in ("a", "b")
        ]
        pids = sorted(pid for replica in replicas for pid in replica.worker_pids())
        predict_urls = [replica.url + "/predict" for replica in replicas]
        admin_urls = [replica.url for replica in replicas]
        versions = [("1.1.0", v2.pk), ("1.0.0", v1.pk)]
        run_loadgen(
            world,
            urls=predict_urls,
            out=world.folder / "warmup.npz",
            body_file=body_file,
            concurrency=args.concurrency,
            duration=2.0,
        )

        duration = args.steady + args.promotions * args.spacing + 12
        out = world.folder / "load.npz"
        started = time.time()
        load = start_loadgen(
            world, urls=predict_urls, out=out, body_file=body_file, concurrency=args.concurrency, duration=duration
        )
        time.sleep(args.steady)  # the steady-state stretch (bounded: --steady seconds)
        under_load = run_promotions(admin_urls, versions, pids, count=args.promotions, spacing_s=args.spacing)
        records = finish_loadgen(load, out, timeout=duration + 90)
        verdict = judge(records, under_load, initial="1.0.0", steady_from=started + 1.0)
        print(json.dumps(verdict, indent=1), flush=True)

        # phase 2: the active version is 1.0.0 again when --promotions is even; start from the other one
        last = under_load[-1].version if under_load else "1.0.0"
        order = versions if last == "1.0.0" else versions[::-1]
        idle = run_promotions(admin_urls, order, pids, count=args.idle_promotions, spacing_s=0.5)

    result = {
        "settings": {
            "replicas": 2,
            "workers_per_replica": args.workers,
            "worker_class": "sync (atlas/gunicorn.conf.py)",
            "storage": "s3 (SeaweedFS weed mini on 127.0.0.1, SigV4), one cache folder per replica",
            "database": "one PostgreSQL database (LISTEN/NOTIFY + 0.5 s poll)",
            "concurrency": args.concurrency,
            "steady_s": args.steady,
            "promotions_under_load": args.promotions,
            "promotions_idle": args.idle_promotions,
            "spacing_s": args.spacing,
            "load_generator": "bench/loadgen.py, clients alternate between the two replicas",
            "switch_window": "from the reload call to the last worker's WorkerReport.loaded_at",
        },
        "load_gate": gate,
        "under_load": {
            "switch": switch_stats(under_load),
            "answers": verdict,
            "promotions": promotions_json(under_load),
        },
        "idle_call_to_last_worker": {
            "switch": switch_stats(idle),
            "promotions": promotions_json(idle),
            "target_s": 1.0,
        },
    }
    write_result("two_replicas", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
