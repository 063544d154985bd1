"""Benchmark 6: resident memory per gunicorn worker with the four demo models loaded, and its peak during a swap.

    .venv/bin/python bench/memory.py [--workers 2] [--sample-ms 10]

Fresh PostgreSQL database, local artifact store.
  empty    gunicorn (atlas/gunicorn.conf.py) with no model registered: each worker's RSS after one request
           (Django, DRF, NumPy imported; nothing loaded)
  loaded   `manage.py seed_demo` (digit_classifier numpy_mlp, visual_detector YOLOv8n .pt, audio_classifier
           audio_mlp, threat_classifier threat_rules), then gunicorn again; once every worker reports its
           four models (WorkerReport rows), RSS, USS and PSS per worker (psutil); and, in a fresh
           interpreter, RSS after Django and after each runtime's import and each model's load
  swap     a second visual_detector version (YOLOv8n, other seed) promoted through the admin API while a
           thread samples every worker's RSS every --sample-ms; peak per worker, and RSS once settled.
Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.world import ADMIN_TOKEN, World, http, setup_django, wait_for_quiet, wait_until, write_result  # noqa: E402

MIB = 2**20


def memory_of(pids: list[int]) -> dict:
    import psutil

    out = {}
    for pid in pids:
        info = psutil.Process(pid).memory_full_info()
        out[str(pid)] = {
            "rss_mib": round(info.rss / MIB, 1),
            "uss_mib": round(info.uss / MIB, 1),
            "pss_mib": round(info.pss / MIB, 1),
        }
    return out


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int], interval_s: float, limit_s: float = 120) -> None:
        super().__init__(daemon=True)
        self.pids, self.interval_s, self.limit_s = pids, interval_s, limit_s
        self.peak = dict.fromkeys(pids, 0)
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        import psutil

        processes = [psutil.Process(pid) for pid in self.pids]
        deadline = time.monotonic() + self.limit_s
        while not self.halt.is_set() and time.monotonic() < deadline:
            for process in processes:
                self.peak[process.pid] = max(self.peak[process.pid], process.memory_info().rss)
            self.samples += 1
            self.halt.wait(self.interval_s)


def reports_loaded(pids: list[int], count: int) -> bool:
    from models_registry.models import WorkerReport

    rows = WorkerReport.objects.filter(pid__in=pids, version__isnull=False).values_list("pid", flat=True)
    return all(list(rows).count(pid) >= count for pid in pids)


def breakdown_child() -> None:
    """In a fresh interpreter (the world's env): RSS after Django, then after each model's runtime import
    and its load + warm-up, in the order that imports the heavy libraries last. Prints JSON."""
    import importlib

    import psutil

    process = psutil.Process()

    def usage(p) -> dict:
        info = p.memory_full_info()
        return {"rss_mib": round(info.rss / MIB, 1), "uss_mib": round(info.uss / MIB, 1)}

    import numpy  # noqa: F401

    rows = [{"step": "python + numpy", **usage(process)}]
    import django

    django.setup()
    from django.conf import settings

    from models_registry import services
    from models_registry.models import ModelVersion

    rows.append({"step": "django.setup() (apps, DRF, admin)", **usage(process)})
    keep = []
    for name in ("digit_classifier", "threat_classifier", "audio_classifier", "visual_detector"):
        version = ModelVersion.objects.select_related("model").filter(model__name=name, status="active").first()
        if version is None:
            continue
        importlib.import_module(settings.ATLAS_RUNTIMES[version.model.runtime].rpartition(".")[0])
        if version.model.runtime == "yolo":
            from inference.runtimes.yolo import import_ultralytics

            import_ultralytics()
        rows.append({"step": f"import runtime {version.model.runtime}", **usage(process)})
        keep.append(services.model_version_prepare(version=version))
        rows.append({"step": f"load + warm {name} ({version.size_bytes / MIB:.1f} MiB file)", **usage(process)})
    print(json.dumps(rows))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample-ms", type=float, default=10)
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--breakdown-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.breakdown_child:
        breakdown_child()
        return 0
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    with World("memory") as world:
        setup_django(world)
        from django.core.management import call_command
        from django.db import connections

        from inference.demo import vision
        from models_registry import services
        from models_registry.models import WorkerReport

        connections.close_all()
        empty = world.gunicorn("empty", workers=args.workers)
        for _ in range(20):  # let both workers serve a request (the kernel spreads accepts; not guaranteed)
            http("POST", empty.url + "/predict", body={"pixels": [0.0] * 784})
        empty_memory = memory_of(empty.worker_pids())
        empty.stop()

        seed_s = time.perf_counter()
        call_command("seed_demo")
        seed_s = time.perf_counter() - seed_s
        models = sorted(
            WorkerReport._meta.get_field("model")
            .related_model.objects.filter(active_version__isnull=False)
            .values_list("name", flat=True)
        )
        connections.close_all()
        atlas = world.gunicorn("loaded", workers=args.workers)
        pids = atlas.worker_pids()
        wait_until(
            lambda: reports_loaded(pids, len(models)),
            timeout=120,
            interval=0.2,
            what=f"{len(pids)} workers with {len(models)} models",
        )
        http("POST", atlas.url + "/predict", body={"pixels": [0.0] * 784})
        loaded_memory = memory_of(pids)

        with tempfile.TemporaryDirectory(dir=world.folder) as scratch:
            artifact = vision.build(Path(scratch), seed=1)
            second = services.model_version_register(
                model_name=artifact.model_name,
                version="1.0.1-untrained",
                source=artifact.path,
                storage="local",
                runtime=artifact.runtime,
                metadata=artifact.metadata,
                actor="bench",
            )
            services.model_version_trust(version=second, actor="bench", reason="built by this benchmark")
        connections.close_all()
        child = subprocess.run(
            [sys.executable, __file__, "--breakdown-child"],
            env=world.env(),
            cwd=world.folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if child.returncode != 0:
            raise RuntimeError(f"breakdown child failed: {child.stderr[-2000:]}")
        breakdown = json.loads(child.stdout.strip().splitlines()[-1])
        sampler = RssSampler(pids, args.sample_ms / 1000)
        sampler.start()
        t_call = time.time()
        status, answer = http(
            "POST",
            atlas.url + "/api/v1/admin/reload-models",
            body={"model_type": "visual_detector", "version": second.version},
            token=ADMIN_TOKEN,
        )
        if status != 200:
            raise RuntimeError(f"reload answered {status}: {answer}")

        def switched() -> bool:
            rows = WorkerReport.objects.filter(model__name="visual_detector", pid__in=pids, version=second)
            return rows.count() == len(pids)

        wait_until(switched, timeout=60, interval=0.05, what="every worker on the second detector")
        switched_s = time.time() - t_call
        time.sleep(1.0)  # keep sampling a moment after the swap (bounded: 1 s), then settle
        sampler.halt.set()
        sampler.join(timeout=10)
        after_memory = memory_of(pids)

    per_worker = {
        pid: {
            "loaded_rss_mib": loaded_memory[pid]["rss_mib"],
            "peak_rss_during_swap_mib": round(sampler.peak[int(pid)] / MIB, 1),
            "after_swap_rss_mib": after_memory[pid]["rss_mib"],
        }
        for pid in loaded_memory
    }
    result = {
        "settings": {
            "workers": args.workers,
            "worker_class": "sync (atlas/gunicorn.conf.py), no preload_app: each worker imports and loads alone",
            "models": models,
            "swap": "visual_detector 1.0.0-untrained -> 1.0.1-untrained (YOLOv8n .pt) via the admin API",
            "sample_interval_ms": args.sample_ms,
        },
        "load_gate": gate,
        "seed_demo_s": round(seed_s, 1),
        "empty_workers": empty_memory,
        "loaded_workers": loaded_memory,
        "in_process_breakdown": breakdown,
        "swap": {"call_to_all_switched_s": round(switched_s, 3), "samples": sampler.samples, "per_worker": per_worker},
        "summary": {
            "empty_rss_mib_max": max(v["rss_mib"] for v in empty_memory.values()),
            "loaded_rss_mib_max": max(v["rss_mib"] for v in loaded_memory.values()),
            "loaded_uss_mib_max": max(v["uss_mib"] for v in loaded_memory.values()),
            "peak_during_swap_mib_max": max(v["peak_rss_during_swap_mib"] for v in per_worker.values()),
            "after_swap_rss_mib_max": max(v["after_swap_rss_mib"] for v in per_worker.values()),
        },
    }
    print(json.dumps(result["summary"]), flush=True)
    write_result("memory", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
