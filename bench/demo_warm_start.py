"""Benchmark 4b: cold and warm start of each demo model (what `manage.py seed_demo` registers).

    .venv/bin/python bench/demo_warm_start.py [--repeats 3]

In this process, with a fresh PostgreSQL database and the local store: the four demo artifacts are built
(inference.demo.*.build) and registered. The runtimes' imports (numpy, torch, ultralytics, onnxruntime,
scipy) are paid once first, as a serving worker pays them when it starts. Then, for each model,
--repeats times:
  cold        artifact_cache.clear(): copy from the store into the cache, sha256, load, warm-up
              (models_registry.services.model_version_prepare)
  warm, new   the file in the cache, this process's verification forgotten (a freshly started worker):
  worker      sha256 once, load, warm-up
  warm        again in the same process: load, warm-up
Target (issue 6): the warm start of every demo model under 1 s. Writes bench/results/demo_warm_start.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402

DEMOS = ("digits", "vision", "audio", "threat")


def timed(fn, **kwargs) -> float:
    started = time.perf_counter()
    fn(**kwargs)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()

    rows = []
    with World("demowarm") as world:
        setup_django(world)
        from models_registry import artifact_cache, services

        versions = []
        for name in DEMOS:
            folder = world.folder / name
            folder.mkdir()
            demo = importlib.import_module(f"inference.demo.{name}").build(folder)
            versions.append(
                services.model_version_register(
                    model_name=demo.model_name,
                    version=demo.version,
                    source=demo.path,
                    runtime=demo.runtime,
                    metadata=demo.metadata,
                    storage="local",
                    actor="bench",
                )
            )
        for version in versions:  # imports and first-use costs, paid by a worker at start
            services.model_version_prepare(version=version)
        gate = {"skipped": True} if args.no_wait else wait_for_quiet()
        for version in versions:
            cold, warm_new, warm = [], [], []
            for _ in range(args.repeats):
                artifact_cache.clear()
                artifact_cache.forget_verifications()
                cold.append(timed(services.model_version_prepare, version=version))
                artifact_cache.forget_verifications()  # as a freshly started worker
                warm_new.append(timed(services.model_version_prepare, version=version))
                warm.append(timed(services.model_version_prepare, version=version))
            med = statistics.median
            row = {
                "model": version.model.name,
                "version": version.version,
                "runtime": version.model.runtime,
                "format": version.format,
                "bytes": version.size_bytes,
                "cold_s": round(med(cold), 3),
                "warm_new_worker_s": round(med(warm_new), 3),
                "warm_s": round(med(warm), 3),
                "warm_max_s": round(max(warm_new + warm), 3),
                "under_1s": max(warm_new + warm) < 1.0,
            }
            print(json.dumps(row), flush=True)
            rows.append(row)

    write_result(
        "demo_warm_start",
        {
            "settings": {
                "storage": "local store, artifact cache on local disk",
                "repeats": args.repeats,
                "imports": "paid once before timing (a worker pays them at start)",
            },
            "load_gate": gate,
            "models": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
