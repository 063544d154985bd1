"""Benchmark: /predict latency while a second client keeps /api/v1/detect busy, per server setting.

    .venv/bin/python bench/mixed_load.py [--duration 10] [--splits 4] [--detect-clients 2] [--no-wait]

One world (fresh PostgreSQL database, local store) seeded by `manage.py seed_demo` (the digit network and
the demo YOLOv8n detector, whose forward pass takes 30-300 ms of CPU). For each server setting (granian as
the Procfile's `web:` line starts it: 2 workers, every model in one process; gunicorn sync; and gthread (2
worker processes with 4 threads each)), in one run:
  alone   wrk drives POST /predict (2 connections) for --duration seconds, as --splits runs on new
          connections (their median p99 is the phase's: see `phase`)
  mixed   the same, while --detect-clients threads each POST a real photo (sklearn's china.jpg) to
          /api/v1/detect in a loop
and reports /predict's requests per second and p50/p99, the detections answered meanwhile, and the ratio
p99 mixed / p99 alone (the issue's target: within 2x). One server at a time runs --rounds rounds (each
waits until the workers are idle again); each setting's round with the median ratio is reported, with
every round's ratio, and the RSS of each worker after its rounds. Writes bench/results/mixed_load.json.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import sample_digit_body  # noqa: E402
from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402

SETTINGS = {  # name -> (started with the Procfile's `web:` command?, environment)
    "granian": (True, {}),
    "sync": (False, {}),
    "gthread": (False, {"GUNICORN_CMD_ARGS": "--worker-class gthread --threads 4"}),
}


def photo() -> bytes:
    from PIL import Image
    from sklearn.datasets import load_sample_image

    buffer = io.BytesIO()
    Image.fromarray(load_sample_image("china.jpg")).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def detect_loop(url: str, image: bytes, stop: threading.Event, answered: list[float], failed: list[int]) -> None:
    import requests

    session = requests.Session()
    while not stop.is_set():
        started = time.perf_counter()
        response = session.post(url, data=image, headers={"Content-Type": "image/jpeg"}, timeout=60)
        if response.status_code == 200:
            answered.append((time.perf_counter() - started) * 1000)
        else:
            failed.append(response.status_code)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--detect-clients", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--splits", type=int, default=4, help="wrk runs per phase, each on new connections")
    parser.add_argument(
        "--only", action="append", help="run only this setting (repeatable); the result file is not written"
    )
    parser.add_argument("--no-wait", action="store_true", help="skip the load-average gate")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    from bench.measure import WRK_HINT, run_wrk, wrk_available

    if not wrk_available():
        print(WRK_HINT, file=sys.stderr)
        return 2
    results: dict = {}
    with World("mixed") as world:
        setup_django(world)
        from django.core.management import call_command

        call_command("seed_demo", stdout=io.StringIO())
        body_file = world.folder / "body.json"
        body_file.write_bytes(sample_digit_body())
        image = photo()
        import psutil

        rounds: dict[str, list[dict]] = {}
        memory: dict[str, list[int]] = {}
        chosen = {name: setting for name, setting in SETTINGS.items() if not args.only or name in args.only}
        for name, (serve, env) in chosen.items():  # one server at a time: idle servers still cost memory
            server = world.serve(name, workers=2, env=env) if serve else world.gunicorn(name, workers=2, env=env)
            run_wrk(server.url + "/predict", body_file=body_file, connections=2, duration_s=2)  # warm-up
            rounds[name] = []
            for i in range(args.rounds):
                wait_until_idle(server.worker_pids())  # the last round's detections (and torch's spinning) are over
                figures = one_round(server.url, body_file, image, args)
                rounds[name].append(figures)
                print(f"round {i} {name}", json.dumps(figures), flush=True)
            # after the rounds: every demo model loaded and used
            memory[name] = [round(psutil.Process(pid).memory_info().rss / 2**20) for pid in server.worker_pids()]
            server.stop()
        print("RSS per worker (MiB)", json.dumps(memory), flush=True)
        for name, measured in rounds.items():
            ratios = sorted(r["p99_mixed_over_alone"] for r in measured)
            middle = next(r for r in measured if r["p99_mixed_over_alone"] == ratios[len(ratios) // 2])
            results[name] = middle | {
                "p99_mixed_over_alone_rounds": [r["p99_mixed_over_alone"] for r in measured],
                "rss_per_worker_mib": memory[name],
            }
    result = {
        "settings": {
            "workers": 2,
            "predict_connections": 2,
            "detect_clients": args.detect_clients,
            "duration_s": args.duration,
            "wrk_runs_per_phase": args.splits,
            "rounds": args.rounds,
            "servers": {
                name: "the Procfile's web: command" if serve else env or "atlas/gunicorn.conf.py defaults"
                for name, (serve, env) in SETTINGS.items()
            },
        },
        "load_gate": gate,
        "results": results,
    }
    if args.only:  # a partial run is printed, not recorded
        print(json.dumps(result, indent=1))
        return 0
    write_result("mixed_load", result)
    return 0


def wait_until_idle(pids: list[int], *, below_percent: float = 10.0, timeout: float = 30.0) -> None:
    """Until these processes together use under `below_percent` of a core over half a second (bounded)."""
    import psutil

    processes = [psutil.Process(pid) for pid in pids]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            process.cpu_percent(None)
        time.sleep(0.5)
        if sum(process.cpu_percent(None) for process in processes) < below_percent:
            return


def one_round(base: str, body_file: Path, image: bytes, args: argparse.Namespace) -> dict:
    """/predict alone, then while --detect-clients threads keep /api/v1/detect busy."""

    url = base + "/predict"
    alone = phase(url, body_file, args)
    stop, answered, failed = threading.Event(), [], []
    threads = [
        threading.Thread(target=detect_loop, args=(base + "/api/v1/detect", image, stop, answered, failed))
        for _ in range(args.detect_clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the detections are under way before /predict is measured
    mixed = phase(url, body_file, args)
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "predict_alone": alone,
        "predict_mixed": mixed,
        "detect": {"answered": len(answered), "failed": failed[:10], "median_ms": _median(answered)},
        "p99_mixed_over_alone": round(mixed["latency_ms"]["p99"] / alone["latency_ms"]["p99"], 2),
        "rps_mixed_over_alone": round(mixed["rps"] / alone["rps"], 2),
    }


def phase(url: str, body_file: Path, args: argparse.Namespace) -> dict:
    """/predict for --duration seconds as --splits wrk runs, each on new connections. Which worker accepts
    each of wrk's 2 keep-alive connections is chance (both on one worker: about 6,000 req/s and a higher
    p99; one each: about 10,000), and it held for a whole run: one run per phase made the ratio a draw on
    placement as much as a measure of the detections. The phase's p99 is the median of its runs' p99s."""
    from bench.measure import run_wrk

    runs = [
        run_wrk(url, body_file=body_file, connections=2, duration_s=max(1, args.duration // args.splits))
        for _ in range(args.splits)
    ]
    p99s = [run["latency_ms"]["p99"] for run in runs]
    return {
        "rps": round(sum(run["rps"] for run in runs) / len(runs), 2),
        "requests": sum(run["requests"] or 0 for run in runs),
        "non_2xx": sum(run["non_2xx"] for run in runs),
        "latency_ms": {
            "p50": statistics.median(run["latency_ms"]["p50"] for run in runs),
            "p99": statistics.median(p99s),
            "max": max(run["latency_ms"]["max"] for run in runs),
        },
        "p99_of_each_run": p99s,
        "rps_of_each_run": [run["rps"] for run in runs],
        "command": runs[0]["command"],
    }


def _median(values: list[float]) -> float | None:
    ordered = sorted(values)
    return round(ordered[len(ordered) // 2], 1) if ordered else None


if __name__ == "__main__":
    sys.exit(main())
