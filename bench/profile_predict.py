"""Where the time of POST /predict goes: two profiles of the same request.

    .venv/bin/python bench/profile_predict.py [--calls 5000] [--py-spy PATH] [--seconds 10]

0. The hot path's parts, in this process: one no-socket call of Atlas's WSGI application (the hot path,
   inference/hot_path.py) and of bench/bare_wsgi.py, and each piece of the hot call timed alone: the work
   both do (parse, forward pass, orjson) and what only Atlas does (Host and header checks, the request
   scope and its id, the registry's active version, metrics). Minimum of 5 medians, microseconds.
1. What-if, in this process: the same no-socket call with the URL order changed, /predict as a plain
   Django view, or middleware removed (override_settings; nothing in the project is edited).
2. cProfile (standard library), in this process: --calls no-socket calls of Atlas's WSGI application
   (the exact call gunicorn makes, minus the socket), grouped by layer (Django handler and middleware,
   DRF view machinery, JSON parse + validation, forward pass, rendering).
3. py-spy, when a binary is given (--py-spy, or `py-spy` on PATH; it is NOT a project dependency:
   `pip install --target /tmp/pyspy py-spy` keeps it out of the virtualenv): samples one live gunicorn
   worker for --seconds while bench/loadgen.py drives /predict, and groups the samples by layer the same
   way, gunicorn's own socket and HTTP parsing included.
Writes bench/results/profile_predict.json.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import forget_this_process, sample_digit_body, write_digit_npz  # noqa: E402
from bench.world import World, setup_django, wait_for_quiet, write_result  # noqa: E402

# The layer a frame belongs to, by the first match on its file path (innermost wins, see _layer_of_stack).
LAYERS = [
    ("forward pass (numpy_mlp)", ("inference/runtimes/numpy_mlp.py",)),
    ("parse + validate pixels", ("inference/api/digits.py:parse_pixels", "json/decoder.py", "json/__init__.py:loads")),
    (
        "render JSON response (DRF)",
        ("rest_framework/renderers.py", "json/encoder.py", "rest_framework/utils/encoders.py"),
    ),
    ("DRF view machinery", ("rest_framework/",)),
    (
        "Django middleware",
        (
            "django/middleware/",
            "whitenoise/",
            "corsheaders/",
            "django/contrib/sessions/",
            "django/contrib/auth/middleware",
            "django/contrib/messages/",
        ),
    ),
    ("Django handler, request, response, urls", ("django/",)),
    ("gunicorn (socket, HTTP parsing)", ("gunicorn/",)),
    ("Atlas view code", ("inference/",)),
    ("bare WSGI app code", ("bench/bare_wsgi.py",)),
]


def layer_of(filename: str, function: str = "") -> str | None:
    key = f"{filename}:{function}"
    for layer, patterns in LAYERS:
        if any(p in key for p in patterns):
            return layer
    return None


def cprofile_layers(call, calls: int) -> dict:
    """Total time per layer: each function's own time (tottime) charged to its layer; the rest as 'other'."""
    profile = cProfile.Profile()
    profile.enable()
    started = time.perf_counter()
    for _ in range(calls):
        call()
    elapsed = time.perf_counter() - started
    profile.disable()
    stats = pstats.Stats(profile)
    by_layer: Counter = Counter()
    top = []
    for (filename, _line, function), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():
        layer = layer_of(filename, function)
        # C functions (filename '~') are charged to the caller's layer by pstats' callers; keep them simple:
        if layer is None and filename == "~":
            layer = "builtins (json, numpy C calls, ...)"
        by_layer[layer or "other Python"] += tottime
        top.append((tottime, cumtime, f"{Path(filename).name}:{function}"))
    total = sum(by_layer.values())
    top.sort(reverse=True)
    return {
        "calls": calls,
        "us_per_call_under_profiler": round(elapsed / calls * 1e6, 1),
        "share_by_layer_pct": {k: round(100 * v / total, 1) for k, v in by_layer.most_common()},
        "top_tottime_us_per_call": [
            {"function": name, "self_us": round(t / calls * 1e6, 2), "cumulative_us": round(c / calls * 1e6, 2)}
            for t, c, name in top[:25]
        ],
    }


LINGER = "gunicorn: lingering close (util.close_graceful waits for the client to close)"
SENDALL = "gunicorn: sending headers and body (util.write -> sendall)"
GUNICORN_OTHER = "gunicorn: accept, HTTP parsing, WSGI environ, other"


def _gunicorn_detail(frames: list[str]) -> str:
    for frame in reversed(frames):
        name, _, where = frame.partition(" (")
        if "gunicorn/util.py" in where:
            if name == "close_graceful":
                return LINGER
            if name in ("write", "write_chunk"):
                return SENDALL
    return GUNICORN_OTHER


def pyspy_layers(py_spy: str, pid: int, seconds: int, out: Path) -> dict:
    """Sample one worker with py-spy (raw collapsed stacks), keep its main (request) thread, and charge
    each sample to the innermost frame with a known layer; gunicorn's share is split by what it does."""
    subprocess.run(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "500",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )
    by_layer: Counter = Counter()
    samples = other_threads = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        count = int(count)
        frames = stack.split(";")
        if not frames[0].startswith("<module> (gunicorn"):
            other_threads += count  # the activation listener thread, mostly waiting on its socket
            continue
        samples += count
        layer = None
        for frame in reversed(frames):
            name, _, where = frame.partition(" (")
            where = where.rstrip(")").rsplit(":", 1)[0]
            layer = layer_of(where, name)
            if layer:
                break
        if layer and layer.startswith("gunicorn"):
            layer = _gunicorn_detail(frames)
        by_layer[layer or "other"] += count
    return {
        "main_thread_samples": samples,
        "other_thread_samples": other_threads,
        "share_by_layer_pct": {k: round(100 * v / max(samples, 1), 1) for k, v in by_layer.most_common()},
    }


def hot_path_parts(body: bytes, model_path: Path) -> dict:
    """Atlas's hot /predict against the bare app, and the hot path's pieces each timed alone (us)."""
    import orjson

    import atlas.wsgi
    import bench.bare_wsgi as bare
    from atlas.http.request_context import RequestScope, new_request_id
    from bench.measure import time_calls, wsgi_caller
    from inference import metrics, model_cache, serving
    from inference.api.digits import JSON, digit_prediction, parse_body, predict_answer
    from tests.wsgi import environ_for

    os.environ["BARE_MODEL_PATH"] = str(model_path)
    hot = atlas.wsgi.application.app  # SlowBodies(HotPredict(...)): the HotPredict
    environ = environ_for(body, path="/predict", method="POST")
    loaded = model_cache.get("digit_classifier")
    pixels = parse_body(JSON, body)
    answer = digit_prediction(loaded.predictor, pixels)
    served = [("digit_classifier", loaded.version, None)]

    def scope() -> None:
        RequestScope(environ).close()

    def headers() -> list:
        return [*hot.headers[False], ("Content-Length", "330"), ("X-Request-ID", "x")]

    def best(fn) -> float:
        return round(min(time_calls(fn, min_seconds=0.5)["median_us"] for _ in range(5)), 2)

    shared = {
        "parse_body (orjson + NumPy checks)": lambda: parse_body(JSON, body),
        "digit_prediction (forward pass, answer fields)": lambda: digit_prediction(loaded.predictor, pixels),
        "orjson.dumps of the answer": lambda: orjson.dumps({**answer, "model": "digit_classifier", "version": "1"}),
    }
    atlas_only = {
        "the WSGI wrappers' request checks (is_secure, _length with the Host check)": lambda: hot._length(
            environ, False
        ),
        "serving.ensure_started": serving.ensure_started,
        "RequestScope open + close (request id, the context variable)": scope,
        "new_request_id alone": new_request_id,
        "model_cache.get (the active version, noted for metrics)": lambda: model_cache.get("digit_classifier"),
        "metrics.observe (added to the worker's sums)": lambda: metrics.observe(served, status=200, seconds=0.001),
        "the answer's headers list": headers,
    }
    calls = {
        "atlas hot path, whole call": wsgi_caller(atlas.wsgi.application, method="POST", path="/predict", body=body),
        "bare app, whole call": wsgi_caller(bare.application, method="POST", path="/predict", body=body),
        "predict_answer (parse, active version, forward pass, orjson)": lambda: predict_answer(JSON, body),
    }
    result = {
        "calls_us": {k: best(f) for k, f in calls.items()},
        "shared_work_us": {k: best(f) for k, f in shared.items()},
        "atlas_only_us": {k: best(f) for k, f in atlas_only.items()},
    }
    whole = result["calls_us"]
    result["atlas_minus_bare_us"] = round(whole["atlas hot path, whole call"] - whole["bare app, whole call"], 2)
    return result


def what_if_in_process(body: bytes, model_path: Path) -> dict:
    """No-socket WSGI calls of /predict (best of 5 medians, microseconds) under variations of the project,
    made here with override_settings and throwaway URL modules, nothing edited: what each would save."""
    import types

    import numpy as np
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.http import HttpResponse
    from django.test.utils import override_settings
    from django.urls import clear_url_caches, path
    from django.views.decorators.csrf import csrf_exempt

    import atlas.urls
    import bench.bare_wsgi as bare
    from bench.measure import time_calls, wsgi_caller
    from inference import model_cache
    from inference.api.digits import parse_pixels

    @csrf_exempt
    def plain_predict(request):  # the same work as PredictView.post, as a plain Django view
        pixels = parse_pixels(request.body)
        loaded = model_cache.get("digit_classifier")
        probabilities = loaded.predictor.predict(pixels.astype(np.float32))
        digit = int(probabilities.argmax())
        payload = {
            "predicted_digit": digit,
            "confidence": float(probabilities[digit]),
            "probabilities": probabilities.tolist(),
            "model": "digit_classifier",
            "version": loaded.version,
        }
        return HttpResponse(json.dumps(payload), content_type="application/json")

    urlconfs = {
        "bench_urls_plain_view_first": [path("predict", plain_predict), *atlas.urls.urlpatterns],
    }
    for name, patterns in urlconfs.items():
        module = types.ModuleType(name)
        module.urlpatterns = patterns
        sys.modules[name] = module

    def best(app) -> float:
        call = wsgi_caller(app, method="POST", path="/predict", body=body)
        status, payload = call()
        if not status.startswith("200"):
            raise RuntimeError(f"{status}: {payload[:200]!r}")
        return min(time_calls(call, min_seconds=1.0)["median_us"] for _ in range(5))

    def django_variant(**overrides) -> float:
        with override_settings(**overrides):
            clear_url_caches()
            try:
                return best(get_wsgi_application())
            finally:
                clear_url_caches()

    os.environ["BARE_MODEL_PATH"] = str(model_path)
    keep = [m for m in settings.MIDDLEWARE if any(k in m for k in ("Security", "WhiteNoise", "Cors", "Common"))]
    variants = {
        "atlas as is": django_variant(),
        "/predict as a plain Django view (no DRF), routed first": django_variant(
            ROOT_URLCONF="bench_urls_plain_view_first"
        ),
        "without session/auth/messages/csrf/clickjacking middleware": django_variant(MIDDLEWARE=keep),
        "without any middleware": django_variant(MIDDLEWARE=[]),
        "bare WSGI app (bench/bare_wsgi.py)": best(bare.application),
    }
    base = variants["atlas as is"]
    return {name: {"us": round(us, 1), "saves_us": round(base - us, 1)} for name, us in variants.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument(
        "--py-spy",
        default=shutil.which("py-spy") or ("/tmp/pyspy/bin/py-spy" if Path("/tmp/pyspy/bin/py-spy").exists() else None),
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    from bench.measure import finish_loadgen, start_loadgen, wsgi_caller

    with World("profile") as world:
        setup_django(world)
        from django.core.wsgi import get_wsgi_application

        from models_registry import services

        path = write_digit_npz(world.folder / "digits.npz", seed=1)
        version = services.model_version_register(
            model_name="digit_classifier",
            version="1.0.0",
            source=path,
            runtime="numpy_mlp",
            storage="local",
            actor="bench",
        )
        services.model_version_promote(version=version, actor="bench")
        body = sample_digit_body()
        call = wsgi_caller(get_wsgi_application(), method="POST", path="/predict", body=body)
        for _ in range(200):
            call()
        result = {
            "hot_path_parts_in_process": hot_path_parts(body, path),
            "cprofile_in_process": cprofile_layers(call, args.calls),
            "what_if_in_process": what_if_in_process(body, path),
        }
        print(json.dumps(result["hot_path_parts_in_process"], indent=1), flush=True)
        print(json.dumps(result["what_if_in_process"], indent=1), flush=True)
        print(json.dumps(result["cprofile_in_process"], indent=1), flush=True)
        forget_this_process()

        if args.py_spy:
            body_file = world.folder / "body.json"
            body_file.write_bytes(body)
            servers = {
                "atlas": world.gunicorn("atlas", workers=2),
                "bare": world.gunicorn(
                    "bare", workers=2, config="bench/bare_gunicorn.conf.py", env={"BARE_MODEL_PATH": str(path)}
                ),
            }
            for name, server in servers.items():
                out = world.folder / f"load-{name}.npz"
                load = start_loadgen(
                    world,
                    urls=[server.url + "/predict"],
                    out=out,
                    body_file=body_file,
                    concurrency=4,
                    duration=args.seconds + 6,
                )
                time.sleep(2)  # let the load reach steady state before sampling (one bounded wait)
                profile = pyspy_layers(
                    args.py_spy, server.worker_pids()[0], args.seconds, world.folder / f"pyspy-{name}.txt"
                )
                records = finish_loadgen(load, out, timeout=args.seconds + 90)
                profile["rps_during_sampling_run"] = round(records["status"].size / float(records["elapsed"]), 1)
                result[f"py_spy_live_worker_{name}"] = profile
                print(name, json.dumps(profile, indent=1), flush=True)
        else:
            result["py_spy"] = {"skipped": "no py-spy binary (pip install --target /tmp/pyspy py-spy)"}
    result["load_gate"] = gate
    result["settings"] = {
        "tools": "cProfile (stdlib); py-spy 0.4.3 from PyPI, installed outside the venv",
        "model": "numpy_mlp 784-100-10",
        "workers": 2,
        "concurrency": 4,
    }
    write_result("profile_predict", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
