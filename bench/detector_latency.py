"""Benchmark 5: per-image latency of the visual detector, YOLOv8n and YOLOv8m, .pt against .onnx.

    .venv/bin/python bench/detector_latency.py [--runs 15] [--warmup 3] [--archs yolov8n,yolov8m]

Offline: each network is built from its yaml (`YOLO("yolov8m.yaml")`, seeded, UNTRAINED: no weights can be
downloaded) with inference.runtimes.yolo's offline setup, saved as .pt, exported to .onnx with
inference.runtimes.yolo.export_onnx (640x640, static), and both files are served through the runtime's own
loader (`inference.runtimes.yolo.load`: ultralytics for .pt, onnxruntime + NumPy pre/post-processing for
.onnx). The image is a real photo, sklearn's china.jpg (427x640). Per format: --warmup calls, then the
median (and p90, min) of --runs calls of `predictor.detect(image)`, end to end (letterbox, network, NMS,
boxes back in image pixels). Threads matter: the runtime sets torch's threads to ATLAS_TORCH_THREADS
after each .pt prediction (ultralytics alone would leave cpu_count - 1), and the .onnx session ATLAS_ONNX_THREADS;
so each format is measured both ways (.pt with ATLAS_TORCH_THREADS=1 and =all cores; .onnx by default and
with 1 intra-op thread) and the ONNX speed-up is given at equal threads. Untrained heads score every class
far below the 0.25 threshold, so NMS has almost nothing to do: a trained model adds a little
post-processing. Writes bench/results/detector_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402


def build_pt(arch: str, dest: Path) -> Path:
    import torch

    from inference.runtimes.yolo import import_ultralytics

    ultralytics = import_ultralytics()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = ultralytics.YOLO(f"{arch}.yaml", task="detect")
    model.save(dest)
    return dest


def timed_load(yolo, path: Path, metadata: dict):
    started = time.perf_counter()
    predictor = yolo.load(path, metadata=metadata)
    predictor.warm_up()
    return predictor, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--archs", default="yolov8n,yolov8m")
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()

    with World("detector") as world:
        setup_django(world, migrate=False)  # no database needed: only the runtime and its settings
        import numpy as np
        import onnxruntime
        import torch
        from django.conf import settings
        from PIL import Image
        from sklearn.datasets import load_sample_image

        from inference.demo.vision import COCO_CLASS_NAMES
        from inference.runtimes import yolo

        image = Image.fromarray(load_sample_image("china.jpg"))
        metadata = {"class_names": COCO_CLASS_NAMES, "confidence": 0.25, "iou": 0.45, "imgsz": 640}
        files = {}
        for arch in args.archs.split(","):
            pt, built_s = None, time.perf_counter()
            pt = build_pt(arch, world.folder / f"{arch}.pt")
            built_s = time.perf_counter() - built_s
            export_s = time.perf_counter()
            onnx = yolo.export_onnx(pt, world.folder / f"{arch}.onnx")
            export_s = time.perf_counter() - export_s
            files[arch] = {"pt": pt, "onnx": onnx, "build_s": round(built_s, 2), "export_s": round(export_s, 2)}
        # the gate comes after building and exporting (heavy, unmeasured), right before the timed part
        gate = {"skipped": True} if args.no_wait else wait_for_quiet()
        rows = []
        cores = len(os.sched_getaffinity(0))

        def measure(arch: str, fmt: str, threads: int, predictor, load_s: float, note: str) -> None:
            for _ in range(args.warmup):
                predictor.detect(image)
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                detections = predictor.detect(image)
                times.append((time.perf_counter() - started) * 1000)
            row = {
                "arch": arch,
                "format": fmt,
                "threads": threads,
                "threads_note": note,
                "file_mb": round(files[arch][fmt].stat().st_size / 2**20, 1),
                "load_and_warm_up_s": round(load_s, 3),
                "median_ms": round(statistics.median(times), 1),
                "p90_ms": round(float(np.percentile(times, 90)), 1),
                "min_ms": round(min(times), 1),
                "detections": len(detections),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)

        for arch, made in files.items():
            predictor, load_s = timed_load(yolo, made["pt"], metadata)
            # The yolo runtime sets torch's threads to ATLAS_TORCH_THREADS after each prediction (ultralytics'
            # select_device() would leave cpu_count - 1); measure both settings.
            settings.ATLAS_TORCH_THREADS = 1
            measure(arch, "pt", 1, predictor, load_s, "ATLAS_TORCH_THREADS=1")
            settings.ATLAS_TORCH_THREADS = cores
            measure(arch, "pt", cores, predictor, load_s, "ATLAS_TORCH_THREADS=all cores (torch's default)")
            del predictor
            settings.ATLAS_ONNX_THREADS = cores  # the runtime's session takes ATLAS_ONNX_THREADS intra-op threads
            predictor, load_s = timed_load(yolo, made["onnx"], metadata)
            measure(arch, "onnx", cores, predictor, load_s, "onnxruntime default (one per core)")
            del predictor
            settings.ATLAS_ONNX_THREADS = 1
            predictor, load_s = timed_load(yolo, made["onnx"], metadata)
            measure(arch, "onnx", 1, predictor, load_s, "intra_op_num_threads=1")
            del predictor
        by_key = {(r["arch"], r["format"], r["threads"]): r for r in rows}
        for row in rows:  # speed-up of ONNX over .pt at the same number of threads
            pt, onnx = by_key[(row["arch"], "pt", row["threads"])], by_key[(row["arch"], "onnx", row["threads"])]
            row["onnx_speedup_same_threads"] = round(pt["median_ms"] / onnx["median_ms"], 2)
        result = {
            "settings": {
                "image": "sklearn load_sample_image('china.jpg'), 427x640 RGB",
                "imgsz": 640,
                "runs": args.runs,
                "warmup": args.warmup,
                "weights": "built from yaml, torch.manual_seed(0), UNTRAINED",
                "cores": cores,
                "onnxruntime": onnxruntime.__version__ + " CPUExecutionProvider",
                "torch": torch.__version__,
                "builds": {a: {k: v for k, v in m.items() if k.endswith("_s")} for a, m in files.items()},
            },
            "load_gate": gate,
            "latency": rows,
        }
    write_result("detector_latency", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
