"""Benchmark 4: cold and warm start of a version: fetch + verify + load + warm-up, by artifact size.

    .venv/bin/python bench/cold_warm_start.py [--sizes-mb 1,50,200] [--repeats 3]

In this process, against a SeaweedFS S3 server on 127.0.0.1 and a fresh PostgreSQL database: for each size,
a numpy_mlp .npz (784-H-10, float32, H chosen so the file is about that many MiB) is registered in S3.
Then --repeats times each:
  cold   artifact_cache.clear(), then models_registry.services.model_version_prepare(): download to the
         cache (.part), sha256, rename, load (np.load, validation), warm-up forward pass. The same steps
         are also timed one by one (get_store("s3"), built once per process, store.fetch, sha256_of_file,
         the runtime's load, warm_up).
  warm   model_version_prepare() again with the file in the cache, in the process that verified it:
         load + warm-up (a fresh worker also hashes the file once: the sha256 step).
  latest the S3 store's write_model_metadata (metadata.json PUT + server-side copy to models/<m>/latest/),
         which the promote service runs on a background thread after the promotion answered.
The OS page cache is not dropped (a shared machine): "cold" means an empty artifact cache, with SeaweedFS's
files likely in memory. Writes bench/results/cold_warm_start.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import write_digit_npz  # noqa: E402
from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402

BYTES_PER_HIDDEN = 4 * (784 + 1 + 10)  # float32: a column of weight_0, a bias, a row of weight_1


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def new_s3_store():
    """What every S3 operation of the registry starts with: get_store("s3") (built once per process)."""
    from models_registry.storage import get_store

    store = get_store("s3")
    _ = store.client
    return store


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", default="1,50,200")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes_mb.split(",")]
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    rows = []
    with World("coldwarm", s3=True) as world:
        setup_django(world)
        from models_registry import artifact_cache, selectors, services
        from models_registry.runtimes import get_loader
        from models_registry.storage.base import sha256_of_file

        for i, size_mb in enumerate(sizes):
            hidden = max(1, round(size_mb * 2**20 / BYTES_PER_HIDDEN))
            path = write_digit_npz(world.folder / f"mlp-{hidden}.npz", seed=i, sizes=(784, hidden, 10))
            version, upload_s = timed(
                services.model_version_register,
                model_name="digit_classifier",
                version=f"9.{i}.0",
                source=path,
                runtime="numpy_mlp",
                storage="s3",
                actor="bench",
            )
            path.unlink()
            artifact = services.version_artifact(version)
            loader = get_loader("numpy_mlp")
            scratch = world.folder / "scratch.part"
            cold, warm, steps, latest = [], [], [], []
            for _ in range(args.repeats):
                artifact_cache.clear()
                cold.append(timed(services.model_version_prepare, version=version)[1])
                warm.append(timed(services.model_version_prepare, version=version)[1])
                store, client_s = timed(new_s3_store)
                _, fetch_s = timed(store.fetch, artifact, scratch)
                (digest, _), verify_s = timed(sha256_of_file, scratch)
                assert digest == version.sha256
                predictor, load_s = timed(loader, scratch, metadata={})
                _, warm_up_s = timed(predictor.warm_up)
                scratch.unlink()
                del predictor
                steps.append(
                    {
                        "new_s3_client": client_s,
                        "fetch": fetch_s,
                        "verify_sha256": verify_s,
                        "load": load_s,
                        "warm_up": warm_up_s,
                    }
                )
                metadata = selectors.store_metadata(version=version)
                _, latest_s = timed(
                    new_s3_store().write_model_metadata, model="digit_classifier", metadata=metadata, latest=artifact
                )
                latest.append(latest_s)
            med = statistics.median
            row = {
                "target_mib": size_mb,
                "hidden_width": hidden,
                "bytes": version.size_bytes,
                "upload_register_s": round(upload_s, 3),
                "cold_s": {"median": round(med(cold), 3), "all": [round(v, 3) for v in cold]},
                "warm_s": {"median": round(med(warm), 3), "all": [round(v, 3) for v in warm]},
                "cold_steps_median_s": {k: round(med(s[k] for s in steps), 4) for k in steps[0]},
                "write_metadata_and_latest_copy_s": {"median": round(med(latest), 3), "max": round(max(latest), 3)},
                "fetch_mb_per_s": round(version.size_bytes / 2**20 / med(s["fetch"] for s in steps), 1),
                "sha256_mb_per_s": round(version.size_bytes / 2**20 / med(s["verify_sha256"] for s in steps), 1),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
            artifact_cache.clear()

    result = {
        "settings": {
            "storage": "s3: SeaweedFS weed mini on 127.0.0.1 (SigV4), boto3 via models_registry.storage.s3",
            "runtime": "numpy_mlp, float32 784-H-10 .npz (uncompressed)",
            "repeats": args.repeats,
            "cold": "empty artifact cache (OS page cache not dropped)",
            "warm": "artifact in the cache, already verified by this process: load, warm-up",
        },
        "load_gate": gate,
        "sizes": rows,
    }
    write_result("cold_warm_start", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
