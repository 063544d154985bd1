"""Benchmark: promotions of big artifacts from SeaweedFS against the floor of copy-and-hash (issue 28 §2).

    .venv/bin/python bench/big_promotions.py [--sizes-mb 50 500 2000] [--workers 2] [--no-wait]

For each size, a synthetic `numpy_mlp` network file (a 784-100-10 MLP plus an unread `padding` entry of
random bytes, stored uncompressed in the .npz, so the runtime's load reads only the zip directory and the
small layers: the bytes moved are the file's, the load is cheap) is registered in S3 (SeaweedFS, `weed
mini`), and the artifact cache is emptied. Then, in one run:

- floor    boto3's `download_file` of the same object (default TransferConfig) to a file, then `sha256sum`
           of that file (one pass). `floor_hashlib` is the same download then Python's hashlib over the file
           (OpenSSL: faster than coreutils here), a stricter floor shown beside it.
- atlas    POST /api/v1/admin/reload-models {model_type, version} to the Procfile's `web:` server (granian,
           `--workers` processes sharing MODEL_CACHE_DIR), timed from the call to the moment the last worker
           reports serving the version (its WorkerReport.loaded_at): the worker that takes the call fetches,
           verifies and trial-loads it, the others load it from the verified cache when told. Small
           promotions from S3 come first, so that each worker has built its S3 client (as the floor's
           process has before its timing starts).
- memory   every worker's peak resident memory (VmHWM) before and after the promotion: flat in the size when
           the download streams.
Writes bench/results/big_promotions.json. Needs ~3x the largest size free on disk; deletes its files after.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.swapping import MODEL, promote, wait_switched  # noqa: E402
from bench.world import World, loadavg, setup_django, wait_for_quiet, write_result  # noqa: E402

MB = 1024 * 1024


def write_big_npz(path: Path, *, size_mb: int) -> Path:
    """A servable numpy_mlp file of about `size_mb` MB: the small network, plus `padding` (random bytes,
    written in 8 MB pieces so this process never holds the whole file)."""
    from tests.factories import write_digit_npz

    write_digit_npz(path, seed=7)
    rng = np.random.default_rng(size_mb)
    remaining = size_mb * MB - path.stat().st_size
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED, allowZip64=True) as archive,
        archive.open("padding.npy", "w", force_zip64=True) as entry,
    ):
        np.lib.format.write_array_header_1_0(entry, {"descr": "|u1", "fortran_order": False, "shape": (remaining,)})
        while remaining > 0:
            piece = min(8 * MB, remaining)
            entry.write(rng.bytes(piece))
            remaining -= piece
    return path


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def floor(world: World, key: str) -> dict:
    """boto3 download_file, then sha256sum (and, apart, hashlib) of the file: the bytes Atlas moves."""
    client = world.seaweed.client()
    dest = world.folder / "floor.bin"
    started = time.monotonic()
    client.download_file(world.bucket, key, str(dest))
    download_s = time.monotonic() - started
    started = time.monotonic()
    out = subprocess.run(["sha256sum", str(dest)], check=True, capture_output=True, text=True).stdout
    sha256sum_s = time.monotonic() - started
    started = time.monotonic()
    digest = hashlib.sha256()
    with open(dest, "rb") as handle:
        while chunk := handle.read(MB):
            digest.update(chunk)
    hashlib_s = time.monotonic() - started
    dest.unlink()
    assert out.split()[0] == digest.hexdigest()
    return {
        "download_s": round(download_s, 3),
        "sha256sum_s": round(sha256sum_s, 3),
        "hashlib_s": round(hashlib_s, 3),
        "floor_s": round(download_s + sha256sum_s, 3),
        "floor_hashlib_s": round(download_s + hashlib_s, 3),
        "sha256": digest.hexdigest(),
    }


def one_size(world: World, server, *, size_mb: int) -> dict:
    from models_registry import artifact_cache, services

    source = write_big_npz(world.folder / f"big-{size_mb}.npz", size_mb=size_mb)
    version = services.model_version_register(
        model_name=MODEL, version=f"big-{size_mb}", source=source, runtime="numpy_mlp", actor="bench", storage="s3"
    )
    source.unlink()
    artifact_cache.clear()  # the promotion fetches it
    print(f"{size_mb} MB: registered {version.location} ({version.size_bytes} bytes), load {loadavg()}", flush=True)
    floor_figures = floor(world, version.location)
    assert floor_figures["sha256"] == version.sha256
    pids = server.worker_pids()
    rss_before = {pid: peak_rss_mb(pid) for pid in pids}
    load_before = loadavg()
    promotion = wait_switched(promote(server.url, version=version.version, version_id=version.pk), pids, timeout=900)
    rss_after = {pid: peak_rss_mb(pid) for pid in pids}
    atlas_s = promotion.last_switch_s
    artifact_cache.clear()
    result = {
        "size_mb": size_mb,
        "bytes": version.size_bytes,
        "floor": floor_figures,
        "atlas": {
            "promote_call_s": round(promotion.call_s, 3),
            "every_worker_serves_s": round(atlas_s, 3),
            "worker_switch_s": promotion.worker_switch_s,
        },
        "ratio_to_floor": round(atlas_s / floor_figures["floor_s"], 3),
        "ratio_to_floor_hashlib": round(atlas_s / floor_figures["floor_hashlib_s"], 3),
        "worker_peak_rss_mb": {"before": rss_before, "after": rss_after},
        "worker_peak_rss_growth_mb": max(rss_after[pid] - rss_before[pid] for pid in pids),
        "load_before": load_before,
        "load_after": loadavg(),
    }
    print(
        f"{size_mb} MB: floor {floor_figures['floor_s']} s (hashlib {floor_figures['floor_hashlib_s']} s), "
        f"atlas {atlas_s:.3f} s, ratio {result['ratio_to_floor']}, peak RSS growth "
        f"{result['worker_peak_rss_growth_mb']} MB",
        flush=True,
    )
    return result


def warm_up(server, versions: list[tuple[str, int]]) -> None:
    """Small promotions from S3 (the cache emptied before each) until every worker has fetched once: a
    worker's first S3 use imports boto3 and builds its client (about a second here), which the floor's
    timing leaves out too. Requests go to whichever worker accepts them, so several are sent."""
    from models_registry import artifact_cache

    pids = server.worker_pids()
    for version, version_id in versions:
        artifact_cache.clear()
        wait_switched(promote(server.url, version=version, version_id=version_id), pids, timeout=120)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[50, 500, 2000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()
    with World("big_promotions", s3=True) as world:
        os.environ["MODEL_STORAGE_TYPE"] = "s3"
        setup_django(world)
        from bench.digits import forget_this_process, write_digit_npz
        from models_registry import services

        first = services.model_version_register(
            model_name=MODEL,
            version="1.0.0",
            source=write_digit_npz(world.folder / "small.npz", seed=1),
            runtime="numpy_mlp",
            actor="bench",
            storage="s3",
        )
        services.model_version_promote(version=first, actor="bench")
        forget_this_process()
        second = services.model_version_register(
            model_name=MODEL,
            version="1.0.1",
            source=write_digit_npz(world.folder / "small2.npz", seed=2),
            runtime="numpy_mlp",
            actor="bench",
            storage="s3",
        )
        server = world.serve("atlas", workers=args.workers)
        warm_up(server, [(second.version, second.pk), (first.version, first.pk)] * (2 * args.workers))
        sizes = [one_size(world, server, size_mb=size) for size in args.sizes_mb]
    result = {
        "settings": {
            "workers": args.workers,
            "server": "the Procfile's web: command (granian), one replica, MODEL_CACHE_DIR shared by its workers",
            "store": "SeaweedFS `weed mini` on 127.0.0.1 (tests/servers/seaweedfs.py), unversioned bucket",
            "artifact": "numpy_mlp .npz: a 784-100-10 MLP plus an unread stored `padding` entry of random bytes",
            "promote": "POST /api/v1/admin/reload-models {model_type, version} (synchronous)",
        },
        "load_gate": gate,
        "sizes": sizes,
    }
    write_result("big_promotions", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
