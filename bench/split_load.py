"""Benchmark: the split deployment (`make split`) against the single-process default, and Atlas against the bare
WSGI app on the same server.

    .venv/bin/python bench/split_load.py [--duration 8] [--splits 4] [--rounds 3] [--detect-clients 2] [--no-wait]

One world (fresh PostgreSQL database), seeded by `make split` itself (migrate, seed_demo). Then:
  split   `make split`: Caddy on PORT, the web service (granian, 2 workers, digit and threat models) held to
          CPU 0 and the torch service (granian, 1 worker, the torch models) to CPU 1 with `taskset -a -p`, as two
          containers with a CPU each would be. Through the router: POST /predict alone (wrk, 2 connections,
          --duration seconds as --splits runs on new connections: bench/mixed_load.py's `phase`), then while
          --detect-clients threads keep POST /api/v1/detect busy (a real photo, sklearn's china.jpg). The ratio
          p99 mixed / p99 alone is the issue's target (<= 1.5).
          Then the same with /predict sent straight to the web service's port (detections still through
          Caddy): what the router's hop costs /predict.
  single  the single-process default as `make run` serves it: one granian, 2 workers, every model, on every
          CPU; measured the same way, straight on its port (no router).
  bare    POST /predict throughput of the web service's granian (the same command line as deploy/Procfile.split,
          straight on its port) against bench/bare_wsgi.py under granian with the same options, alternated for
          --rounds rounds (wrk, 4 connections); the median ratio Atlas/bare is the target (>= 0.9).
Each mixed measurement runs --rounds rounds and reports the round with the median ratio.
Writes bench/results/split_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import sample_digit_body  # noqa: E402
from bench.mixed_load import detect_loop, phase, photo, wait_until_idle  # noqa: E402
from bench.world import (  # noqa: E402
    REPO,
    VENV_BIN,
    World,
    free_port,
    http,
    loadavg,
    wait_for_quiet,
    wait_until,
    write_result,
)

GRANIAN = [  # deploy/Procfile.split's options
    str(VENV_BIN / "granian"),
    "--interface",
    "wsgi",
    "--http",
    "1",
    "--blocking-threads",
    "32",
    "--respawn-failed-workers",
    "--host",
    "127.0.0.1",
]


class Split:
    """`make split` in the world, its services found by their ports."""

    def __init__(self, world: World) -> None:
        self.port, self.web_port, self.torch_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = world.folder / "split.log"
        venv = VENV_BIN.parent
        command = [
            "make",
            "--no-print-directory",
            "-o",
            f"{venv}/.installed",  # never pip install from a benchmark
            "split",
            f"VENV={venv}",
            f"PORT={self.port}",
            f"WEB_PORT={self.web_port}",
            f"TORCH_PORT={self.torch_port}",
        ]
        with open(self.log, "ab") as out:
            self.process = world.popen(command, env=world.env(), stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._routed, timeout=900, interval=0.5, what=f"make split on {self.url}")

    def _routed(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"make split exited with {self.process.returncode}: see {self.log}")
        try:
            web, torch = (
                http("GET", f"{self.url}/livez", timeout=5),
                http("GET", f"{self.url}/api/v1/detect", timeout=5),
            )
        except OSError:
            return False
        return (web[0], torch[0]) == (200, 405)

    def pids(self, port: int) -> list[int]:
        import psutil

        found = []
        for process in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if "granian" in " ".join(process.cmdline()) and str(port) in process.cmdline():
                    found.append(process.pid)
            except psutil.NoSuchProcess:
                continue
        return sorted(found)

    def pin(self, port: int, cpu: int) -> None:
        for pid in self.pids(port):  # every thread of the master and of each worker
            subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], check=True, capture_output=True)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)


def granian(world: World, name: str, app: str, *, workers: int, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(world.folder / f"{name}.log", "ab") as out:
        process = world.popen(
            [*GRANIAN, "--port", str(port), "--workers", str(workers), app],
            env=world.env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"granian {name} exited with {process.returncode}")
        try:
            return http("GET", f"{url}/livez" if "atlas" in app else f"{url}/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    wait_until(up, timeout=600, interval=0.5, what=f"granian {name}")
    return process, url


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def worker_pids(process: subprocess.Popen) -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process(process.pid).children(recursive=True)]


def mixed_rounds(
    base: str, pids: list[int], body_file: Path, image: bytes, args: argparse.Namespace, *, detect_base: str = ""
) -> dict:
    """/predict at `base` alone, then while --detect-clients threads keep /api/v1/detect at `detect_base`
    (default: `base`) busy; --rounds rounds, the one with the median ratio reported."""
    detect_base = detect_base or base
    rounds = []
    for i in range(args.rounds):
        wait_until_idle(pids)
        alone = phase(base + "/predict", body_file, args)
        stop_event, answered, failed = threading.Event(), [], []
        threads = [
            threading.Thread(
                target=detect_loop, args=(detect_base + "/api/v1/detect", image, stop_event, answered, failed)
            )
            for _ in range(args.detect_clients)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # the detections are under way before /predict is measured
        mixed = phase(base + "/predict", body_file, args)
        stop_event.set()
        for thread in threads:
            thread.join()
        figures = {
            "predict_alone": alone,
            "predict_mixed": mixed,
            "detect": {
                "answered": len(answered),
                "failed": failed[:10],
                "median_ms": round(statistics.median(answered), 1) if answered else None,
            },
            "p99_mixed_over_alone": round(mixed["latency_ms"]["p99"] / alone["latency_ms"]["p99"], 2),
        }
        print(f"round {i} {base}", json.dumps(figures), flush=True)
        rounds.append(figures)
    ratios = sorted(r["p99_mixed_over_alone"] for r in rounds)
    middle = next(r for r in rounds if r["p99_mixed_over_alone"] == ratios[len(ratios) // 2])
    return middle | {"p99_mixed_over_alone_rounds": [r["p99_mixed_over_alone"] for r in rounds]}


def throughput(atlas_url: str, bare_url: str, body_file: Path, args: argparse.Namespace) -> dict:
    from bench.measure import run_wrk

    for url in (atlas_url, bare_url):
        run_wrk(url + "/predict", body_file=body_file, connections=4, duration_s=2)  # warm-up
    rounds = []
    for _ in range(args.rounds):
        atlas = run_wrk(atlas_url + "/predict", body_file=body_file, connections=4, duration_s=args.duration)
        bare = run_wrk(bare_url + "/predict", body_file=body_file, connections=4, duration_s=args.duration)
        rounds.append(
            {"atlas_rps": atlas["rps"], "bare_rps": bare["rps"], "ratio": round(atlas["rps"] / bare["rps"], 3)}
        )
        print("throughput", json.dumps(rounds[-1]), flush=True)
    return {
        "atlas_over_bare": statistics.median(r["ratio"] for r in rounds),
        "rounds": rounds,
        "command": atlas["command"],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--splits", type=int, default=4, help="wrk runs per phase, each on new connections")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--detect-clients", type=int, default=2)
    parser.add_argument("--no-wait", action="store_true", help="skip the load-average gate")
    args = parser.parse_args()
    gate = {"skipped": True, "load_at_start": loadavg()} if args.no_wait else wait_for_quiet()

    from bench.measure import WRK_HINT, wrk_available

    if not wrk_available():
        print(WRK_HINT, file=sys.stderr)
        return 2
    if len(os.sched_getaffinity(0)) < 2:
        print("the split measurement needs two CPUs (one per service)", file=sys.stderr)
        return 2
    results: dict = {}
    with World("split") as world:
        body_file = world.folder / "body.json"
        body_file.write_bytes(sample_digit_body())
        image = photo()

        split = Split(world)  # migrates and seeds the world's database
        split.pin(split.web_port, 0)
        split.pin(split.torch_port, 1)
        pids = split.pids(split.web_port) + split.pids(split.torch_port)
        results["split"] = mixed_rounds(split.url, pids, body_file, image, args)
        # the same with /predict straight to the web service: what the router's hop costs
        results["split_predict_past_the_router"] = mixed_rounds(
            f"http://127.0.0.1:{split.web_port}", pids, body_file, image, args, detect_base=split.url
        )
        split.stop()

        single, url = granian(world, "single", "atlas.granian_app:application", workers=2, env={})
        results["single_process"] = mixed_rounds(url, worker_pids(single), body_file, image, args)
        stop(single)

        model = next((world.folder / "store" / "models" / "digit_classifier").rglob("*.npz"))
        web, web_url = granian(
            world,
            "web",
            "atlas.granian_app:application",
            workers=2,
            env={"ATLAS_SERVE_MODELS": "digit_classifier,threat_classifier"},
        )
        bare, bare_url = granian(
            world, "bare", "bench.bare_wsgi:application", workers=2, env={"BARE_MODEL_PATH": str(model)}
        )
        results["predict_throughput"] = throughput(web_url, bare_url, body_file, args)
        stop(web)
        stop(bare)

    result = {
        "settings": {
            "split": "make split; web service (2 workers) on CPU 0, torch service (1 worker) on CPU 1 (taskset -a -p); "
            "/predict and /api/v1/detect through Caddy",
            "split_predict_past_the_router": "the same, /predict straight to the web service's port",
            "single_process": "one granian, 2 workers, every model, every CPU; straight on its port",
            "predict_throughput": "the web service's granian vs bench/bare_wsgi.py under the same granian options, "
            "2 workers each, wrk 4 connections, alternated",
            "predict_connections": 2,
            "detect_clients": args.detect_clients,
            "duration_s": args.duration,
            "wrk_runs_per_phase": args.splits,
            "rounds": args.rounds,
            "repository": str(REPO),
        },
        "load_gate": gate,
        "results": results,
    }
    write_result("split_load", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
