"""Issue 28 §1: POST /api/v1/detect and /api/v1/audio/classify against the same weights called directly.

    .venv/bin/python bench/detect_throughput.py [--duration 8] [--no-wait]

One world (fresh PostgreSQL database, local store). seed_demo's trained shapes detector (.pt, imgsz 320) and
audio classifier are promoted; `upload_model --onnx` registers the detector's ONNX export beside it.
  floor   in this process, one caller: decode the same JPEG (Pillow, RGB) and call the weights directly:
          ultralytics `YOLO(pt).predict(image)`; onnxruntime (the runtime's NumPy letterbox and NMS around
          `session.run`) for the .onnx; for audio, the WAV decode and the classifier's `classify`. Also
          ultralytics' predict on a list of 4 decoded images (one forward pass), the floor for batching.
          threads are equal on both sides: --threads (default 1) torch threads (ATLAS_TORCH_THREADS on the
          server; set again after each direct predict, since ultralytics changes them) and onnxruntime
          intra-op threads (ATLAS_ONNX_THREADS). On 2 shared cores 2 torch threads ran a detection ~10x
          slower than 1 (OpenMP threads spinning for a core a neighbour holds).
  atlas   the Procfile's web: command (granian, 2 workers), ATLAS_SLOW_CONCURRENCY=16 and
          ATLAS_SLOW_WAIT_SECONDS=30 so that admission refuses nothing; bench/loadgen.py, closed loop, raw
          JPEG (WAV) bodies, at 1, 4 and 16 clients, with batching off (ATLAS_DETECT_MAX_BATCH=1) and on
          (max batch 4 and 8; windows 0 and 5 ms), and the ONNX version (which runs unbatched: its export
          takes one image).
  profile cProfile of 40 detections through Django's test client in this process: where a request's time goes.
Ratio = Atlas's images/s over the floor's (one caller). Writes bench/results/detect_throughput.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.measure import run_loadgen  # noqa: E402
from bench.world import (  # noqa: E402
    REPO,
    World,
    loadavg,
    settings_module,
    setup_django,
    wait_for_quiet,
    wait_until,
    write_result,
)

IMAGE = REPO / "inference" / "data" / "shapes-demo-1.jpg"
ONNX_VERSION = "1.2.0+onnx"


def timed(fn, *, seconds: float, warmup: int = 3) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    cpu_started = time.process_time()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        n = fn() or 1
        times.append((time.perf_counter() - t0, n))
    cpu = time.process_time() - cpu_started
    total = sum(t for t, _ in times)
    items = sum(n for _, n in times)
    return {
        "images_per_s": round(items / total, 2),
        "images_per_cpu_s": round(items / cpu, 2),
        "p50_ms": round(statistics.median(t * 1000 for t, _ in times), 1),
        "calls": len(times),
        "load": loadavg(),
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads) so far."""
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def every_worker_loaded(server, timeout: float = 180) -> None:
    """Wait until each worker of `server` serves every active version. /readyz answers from one worker while
    the other may still be importing torch and loading weights: that CPU (about 1 s) would be counted against
    the first run's detections."""
    from models_registry.models import RegisteredModel, WorkerReport

    active = set(RegisteredModel.objects.exclude(active_version=None).values_list("active_version_id", flat=True))
    pids = server.worker_pids()

    def loaded() -> bool:
        reports = WorkerReport.objects.filter(pid__in=pids, version__in=active, loaded_at__isnull=False)
        return {(r.pid, r.version_id) for r in reports} >= {(pid, pk) for pid in pids for pk in active}

    wait_until(loaded, timeout=timeout, what=f"{len(pids)} workers loading {len(active)} active versions")


def served(world: World, server, url: str, body: Path, content_type: str, clients: int, duration: float) -> dict:
    load = loadavg()
    pids = [server.process.pid, *server.worker_pids()]
    cpu_before = cpu_seconds(pids)
    records = run_loadgen(
        world,
        urls=[url],
        out=world.folder / f"records-{clients}.npz",
        body_file=body,
        concurrency=clients,
        duration=duration,
        extra=["--content-type", content_type, "--timeout", "60"],
    )
    cpu = cpu_seconds(pids) - cpu_before
    status = records["status"]
    ok = status == 200
    latency = (records["t_done"] - records["t_send"])[ok] * 1000
    return {
        "clients": clients,
        "images_per_s": round(int(ok.sum()) / float(records["elapsed"]), 2),
        "images_per_cpu_s": round(int(ok.sum()) / cpu, 2),  # the server's processes' CPU time
        "p50_ms": round(float(np.percentile(latency, 50)), 1) if ok.any() else None,
        "p99_ms": round(float(np.percentile(latency, 99)), 1) if ok.any() else None,
        "ok": int(ok.sum()),
        "not_ok": {str(s): int((status == s).sum()) for s in np.unique(status[~ok])},
        "versions": sorted({str(records["version_names"][c]) for c in records["version_code"][ok] if c >= 0}),
        "load": load,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--only", default="", help="run only the configs whose label contains this")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads, both sides")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))

    with World("detect") as world:
        setup_django(world)
        import soundfile
        import torch
        from django.core.management import call_command
        from PIL import Image

        from inference import model_cache
        from inference.api.audio import decode_wav
        from inference.demo import shapes
        from inference.management.commands import seed_demo
        from inference.runtimes import yolo
        from models_registry import services
        from models_registry.models import ModelVersion

        seed_demo.DEMO_BUILDERS = ["inference.demo.shapes.build", "inference.demo.audio.build"]
        call_command("seed_demo", stdout=io.StringIO())
        demo = shapes.build(world.folder / "shapes")
        metadata_file = world.folder / "metadata.json"
        metadata_file.write_text(json.dumps(demo.metadata))
        call_command(  # the same weights and metadata (imgsz 320) as 1.1.0-shapes, with their ONNX form
            "upload_model",
            "visual_detector",
            str(demo.path),
            "--version",
            "1.2.0",
            "--metadata",
            str(metadata_file),
            "--onnx",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        onnx_path = yolo.export_onnx(
            demo.path, world.folder / "shapes.onnx", imgsz=demo.metadata["imgsz"]
        )  # as upload_model

        jpeg = IMAGE.read_bytes()
        wav_file = world.folder / "clip.wav"
        rng = np.random.default_rng(0)
        soundfile.write(wav_file, (rng.standard_normal(32_000) * 0.1).astype(np.float32), 16_000, subtype="PCM_16")
        wav = wav_file.read_bytes()
        imgsz = demo.metadata["imgsz"]

        gate = {"skipped": True} if args.no_wait else wait_for_quiet()
        threads = args.threads
        from django.conf import settings

        settings.ATLAS_TORCH_THREADS = settings.ATLAS_ONNX_THREADS = threads  # in this process as in the servers
        torch.set_num_threads(threads)

        # --- floors: the weights called directly, decode counted ---
        ultralytics = yolo.import_ultralytics()
        model = ultralytics.YOLO(str(demo.path), task="detect")

        def decode(data: bytes) -> np.ndarray:
            return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

        def pt_direct(n: int = 1):
            images = [decode(jpeg)[:, :, ::-1] for _ in range(n)]
            model.predict(
                images if n > 1 else images[0],
                conf=0.25,
                iou=0.45,
                imgsz=imgsz,
                max_det=300,
                device="cpu",
                verbose=False,
            )
            torch.set_num_threads(threads)
            return n

        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = onnxruntime.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name

        def onnx_direct():
            image = decode(jpeg)
            canvas, box = yolo.letterbox(image, imgsz)
            tensor = canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
            (output,) = session.run(None, {input_name: tensor})[:1]
            boxes, _, _ = yolo.decode_yolov8(output[0], min_confidence=0.25, iou_threshold=0.45)
            yolo.unletterbox(boxes, box, image.shape[1], image.shape[0])

        classifier = model_cache.get("audio_classifier").predictor  # the loaded weights, called directly

        def audio_direct():
            samples, rate = decode_wav(wav)
            classifier.classify(samples, rate)

        direct = {"pt": pt_direct, "pt_batch4": lambda: pt_direct(4), "onnx": onnx_direct, "audio": audio_direct}
        floors = {name: timed(fn, seconds=args.duration) for name, fn in direct.items()}
        print("floors", floors, flush=True)

        # --- profile: where one detection's time goes, in-process through Django ---
        from django.test import Client

        client = Client(HTTP_HOST="127.0.0.1")
        for _ in range(3):
            assert client.post("/api/v1/detect", data=jpeg, content_type="image/jpeg").status_code == 200
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(40):
            client.post("/api/v1/detect", data=jpeg, content_type="image/jpeg")
        profiler.disable()
        stats = pstats.Stats(profiler)
        wanted = {
            "request (Django test client)": ("client.py", "post"),
            "decode_image (Pillow, EXIF, RGB)": ("vision.py", "decode_image"),
            "VisualPredictor.detect": ("yolo.py", "detect"),
            "ultralytics predict": ("model.py", "predict"),
            "ultralytics preprocess": ("predictor.py", "preprocess"),
            "ultralytics inference (forward)": ("predictor.py", "inference"),
            "ultralytics postprocess (NMS)": ("predict.py", "postprocess"),
            "response render (JSON)": ("response.py", "rendered_content"),
            "read_upload": ("uploads.py", "read_upload"),
        }
        profile = {}
        for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():
            for label, (file_end, name) in wanted.items():
                if filename.endswith(file_end) and function == name:
                    profile[label] = round(cumulative / 40 * 1000, 2)
        print("profile ms/request", profile, flush=True)

        # --- Atlas, served as the Procfile starts it ---
        # the tuning settings are Django settings, not environment variables: each config is a settings module
        # written over Atlas's (as docs/OPERATIONS.md "Tuning settings" tells a deployment to do)
        base_env = {"ATLAS_TORCH_THREADS": str(threads), "ATLAS_SLOW_CONCURRENCY": "16"}
        base_settings = {"ATLAS_ONNX_THREADS": threads, "ATLAS_SLOW_WAIT_SECONDS": 30}
        configs = [
            ("pt, batching off", {"ATLAS_DETECT_MAX_BATCH": 1}, (1, 4, 16), None),
            (
                "pt, max batch 4, window 0",
                {"ATLAS_DETECT_MAX_BATCH": 4, "ATLAS_DETECT_BATCH_WINDOW_MS": 0},
                (1, 4, 16),
                None,
            ),
            (
                "pt, max batch 8, window 0",
                {"ATLAS_DETECT_MAX_BATCH": 8, "ATLAS_DETECT_BATCH_WINDOW_MS": 0},
                (4, 16),
                None,
            ),
            (
                "pt, max batch 4, window 5 ms",
                {"ATLAS_DETECT_MAX_BATCH": 4, "ATLAS_DETECT_BATCH_WINDOW_MS": 5},
                (1, 4, 16),
                None,
            ),
            ("onnx", {}, (1, 4), ONNX_VERSION),
        ]
        body_jpeg, body_wav = world.folder / "body.jpg", world.folder / "body.wav"
        body_jpeg.write_bytes(jpeg)
        body_wav.write_bytes(wav)
        rows, audio_rows = [], []
        for label, changed, client_counts, promote in [c for c in configs if args.only in c[0]]:
            if promote:
                services.model_version_promote(version=ModelVersion.objects.get(version=promote), actor="bench")
            name = f"atlas{len(world.servers)}"
            env = base_env | settings_module(world.folder, f"bench_{name}_settings", base_settings | changed)
            server = world.serve(name, env=env, probe="/readyz")
            every_worker_loaded(server)
            rounds = [("detect", "pt" if promote is None else "onnx", c) for c in client_counts]
            if label == "pt, batching off":
                rounds += [("audio", "audio", c) for c in (1, 4)]
            for endpoint, floor_name, clients in rounds:
                # the floor right before the served run: under a neighbour's load, both see the same machine
                floor = timed(direct[floor_name], seconds=args.duration)
                path, body, content_type = {
                    "detect": ("/api/v1/detect", body_jpeg, "image/jpeg"),
                    "audio": ("/api/v1/audio/classify", body_wav, "audio/wav"),
                }[endpoint]
                row = {
                    "config": label if endpoint == "detect" else "audio",
                    **served(world, server, server.url + path, body, content_type, clients, args.duration),
                    "floor": floor,
                }
                row["ratio"] = round(row["images_per_s"] / floor["images_per_s"], 2)
                # per CPU-second: what a detection costs, whatever share of the cores neighbours leave us
                row["cpu_ratio"] = round(row["images_per_cpu_s"] / floor["images_per_cpu_s"], 2)
                print(row, flush=True)
                (rows if endpoint == "detect" else audio_rows).append(row)
            server.stop()
            world.servers.remove(server)

        result = {
            "settings": {
                "image": f"{IMAGE.name} (480x360 JPEG), detector shapes_yolov8n.pt imgsz {imgsz}",
                "audio": "2 s of noise, 16 kHz PCM16 WAV, audio_classifier 1.0.0",
                "duration_s": args.duration,
                "cores": cores,
                "torch_threads": threads,
                "server": "Procfile web: granian, 2 workers, ATLAS_SLOW_CONCURRENCY=16, ATLAS_SLOW_WAIT_SECONDS=30",
                "onnxruntime": onnxruntime.__version__,
                "torch": torch.__version__,
            },
            "load_gate": gate,
            "floors": floors,
            "profile_ms_per_request": profile,
            "detect": rows,
            "audio": audio_rows,
        }
    write_result("detect_throughput", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
