"""Resident memory of one gunicorn worker per ATLAS_SERVE_MODELS choice: to size WEB_CONCURRENCY per replica.

    .venv/bin/python bench/serve_models_memory.py [--workers 2]

Fresh PostgreSQL database, local artifact store, `manage.py seed_demo` (digit_classifier numpy_mlp,
threat_classifier threat_rules, audio_classifier audio_mlp (torch), visual_detector YOLOv8n .pt (ultralytics)).
For each choice, gunicorn (atlas/gunicorn.conf.py) is started with ATLAS_SERVE_MODELS set to it; once every
worker reports each chosen model (WorkerReport rows) and answered a /predict, VmRSS and VmHWM are read from
/proc/<pid>/status of each worker. Writes bench/results/serve_models_memory.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.world import World, http, setup_django, wait_until, write_result  # noqa: E402

CHOICES = {
    "numpy_mlp + threat_rules": "digit_classifier,threat_classifier",
    "+ audio_mlp (torch)": "digit_classifier,threat_classifier,audio_classifier",
    "+ yolo (torch + ultralytics)": "digit_classifier,threat_classifier,visual_detector",
    "all four": "digit_classifier,threat_classifier,audio_classifier,visual_detector",
}


def proc_status_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak resident set) of a process, MiB, from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = round(int(value.split()[0]) / 1024, 1)  # kB
    return fields


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results = {}
    with World("serve_models_memory") as world:
        setup_django(world)
        from django.core.management import call_command
        from django.db import connections

        from models_registry.models import WorkerReport

        call_command("seed_demo")
        connections.close_all()
        for index, (label, chosen) in enumerate(CHOICES.items()):
            names = chosen.split(",")
            server = world.gunicorn(f"choice-{index}", workers=args.workers, env={"ATLAS_SERVE_MODELS": chosen})
            pids = server.worker_pids()

            def all_loaded(pids=pids, names=names) -> bool:
                rows = WorkerReport.objects.filter(pid__in=pids, version__isnull=False)
                return rows.count() == len(pids) * len(names)

            wait_until(all_loaded, timeout=180, interval=0.2, what=f"{len(pids)} workers with {chosen}")
            for _ in range(4 * args.workers):
                http("POST", server.url + "/predict", body={"pixels": [0.0] * 784})
            reported = sorted(set(WorkerReport.objects.filter(pid__in=pids).values_list("model__name", flat=True)))
            results[label] = {
                "ATLAS_SERVE_MODELS": chosen,
                "models_reported": reported,
                "workers": {str(pid): proc_status_mib(pid) for pid in pids},
            }
            print(label, results[label], flush=True)
            server.stop()
            connections.close_all()
    write_result(
        "serve_models_memory",
        {"settings": {"workers": args.workers, "worker_class": "sync (atlas/gunicorn.conf.py)"}, "choices": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
