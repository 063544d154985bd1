"""Benchmark: cold start of the split deployment's services against the floor of a bare script (issue 28 §3).

    .venv/bin/python bench/cold_start.py [--repeats 3] [--no-wait]

A fresh PostgreSQL database and the local store, `manage.py seed_demo` (the demo models, active). For each
service as `make split` runs it (deploy/Procfile.split: its granian command and ATLAS_SERVE_MODELS, one
worker):
- atlas   from spawning the service's command to the first 200 from GET /readyz (every model it serves
          loaded at its active version, the database answering), polled every 20 ms. A first start
          (not recorded) fills the artifact cache, as a restarted replica finds it.
- floor   a bare script in a new interpreter (no Django, no registry): import the runtimes' modules (numpy,
          torch, ultralytics, ...) and load the same cached files with each runtime's `load` (`floor`), then
          also run each predictor's one warm-up forward pass (`floor_with_warm_up`), which Atlas does too
          before it is ready. Timed from spawning to its exit.
- floor_with_libraries  the floor with its warm-up, after importing every third-party package the service has
          imported once its models are loaded (Django, DRF, psycopg, numpy, torch, ...: listed in the result):
          the bare script of a service built on the same libraries, so that the ratio to it is Atlas's own cost.
- django  a new interpreter that only sets Django up and imports the WSGI application and the URLconf (every
          view): the framework's share of Atlas's start, which no bare script pays.
Median of --repeats, alternating floor and Atlas. Writes bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.world import REPO, VENV_BIN, World, free_port, loadavg, setup_django, wait_for_quiet, write_result  # noqa: E402

FLOOR_SCRIPT = r"""
import json, sys
from importlib import import_module
from pathlib import Path
models, warm = json.loads(sys.argv[1]), sys.argv[2] == "1"
for library in json.loads(sys.argv[3]) if len(sys.argv) > 3 else []:
    import_module(library)
for model in models:
    predictor = import_module(model["module"]).load(Path(model["path"]), metadata=model["metadata"])
    if warm:
        predictor.warm_up()
"""


def split_command(service: str) -> str:
    for line in (REPO / "deploy" / "Procfile.split").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == service:
            return command.strip()
    raise LookupError(f"deploy/Procfile.split has no {service}: line")


def served_files(serve_models: str) -> list[dict]:
    """The active version of each model the service serves: its runtime's module and its cached file."""
    from django.conf import settings
    from django.test import override_settings

    from inference import served_models
    from models_registry import services
    from models_registry.models import RegisteredModel

    with override_settings(ATLAS_SERVE_MODELS=serve_models.split(",")):
        wanted = [m for m in RegisteredModel.objects.exclude(active_version=None) if served_models.serves(m.name)]
    files = []
    for model in wanted:
        version = model.active_version
        with services.model_version_file(version=version) as path:
            files.append(
                {
                    "model": model.name,
                    "module": settings.ATLAS_RUNTIMES[model.runtime].rsplit(".", 1)[0],
                    "path": str(path),
                    "metadata": version.metadata,
                }
            )
    return files


# The third-party packages a started service has imported (Django, DRF, psycopg, numpy, torch, ...): what the
# `floor_with_libraries` script imports before it loads the weights, so that the ratio to it is Atlas's own cost.
LIBRARIES_SCRIPT = r"""
import json, sys
import django
django.setup()
from atlas.wsgi import application
import atlas.urls
from inference import model_cache
model_cache.preload()
own = {"atlas", "inference", "models_registry", "vocabulary", "bench", "manage"}
names = {name.split(".")[0] for name in sys.modules}
print(json.dumps(sorted(n for n in names - set(sys.stdlib_module_names) - own if not n.startswith("_"))))
"""


def service_libraries(world: World, serve_models: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", LIBRARIES_SCRIPT],
        cwd=REPO,
        env=world.env(ATLAS_SERVE_MODELS=serve_models),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_floor(world: World, files: list[dict], *, warm: bool, libraries: list[str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", FLOOR_SCRIPT, json.dumps(files), "1" if warm else "0", json.dumps(libraries or [])],
        cwd=REPO,
        env=world.env(),
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def time_django(world: World, serve_models: str) -> float:
    code = "import django; django.setup(); from atlas.wsgi import application; import atlas.urls"
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=world.env(ATLAS_SERVE_MODELS=serve_models),
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def time_service(world: World, service: str, *, serve_models: str) -> float:
    port = free_port()
    env = world.env(WEB_PORT=str(port), TORCH_PORT=str(port), WEB_CONCURRENCY="1")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', os.defpath)}"  # granian is the venv's
    log = open(world.folder / f"{service}.log", "ab")  # noqa: SIM115 (closed below)
    started = time.monotonic()
    process = subprocess.Popen(
        ["/bin/sh", "-c", split_command(service)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while True:
            if process.poll() is not None:
                tail = (world.folder / f"{service}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{service} exited with {process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() - started > 300:
                raise TimeoutError(f"{service} not ready in 300 s")
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--services", nargs="+", default=["web", "torch"])
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()
    results = {}
    with World("cold_start") as world:
        setup_django(world)
        from django.core.management import call_command

        call_command("seed_demo", verbosity=0)
        for service in args.services:
            serve_models = split_command(service).split()[0].partition("=")[2]
            files = served_files(serve_models)
            time_service(world, service, serve_models=serve_models)  # fills the artifact cache; not recorded
            libraries = service_libraries(world, serve_models)
            runs: dict[str, list[float]] = {
                "floor": [],
                "floor_with_warm_up": [],
                "floor_with_libraries": [],
                "django": [],
                "atlas": [],
            }
            loads = []
            for _ in range(args.repeats):
                loads.append(loadavg())
                runs["floor"].append(time_floor(world, files, warm=False))
                runs["floor_with_warm_up"].append(time_floor(world, files, warm=True))
                runs["floor_with_libraries"].append(time_floor(world, files, warm=True, libraries=libraries))
                runs["django"].append(time_django(world, serve_models))
                runs["atlas"].append(time_service(world, service, serve_models=serve_models))
            median = {name: round(statistics.median(values), 3) for name, values in runs.items()}
            results[service] = {
                "ATLAS_SERVE_MODELS": serve_models,
                "models": [f["model"] for f in files],
                "median_s": median,
                "runs_s": {name: [round(v, 3) for v in values] for name, values in runs.items()},
                "ratio_to_floor": round(median["atlas"] / median["floor"], 3),
                "ratio_to_floor_with_warm_up": round(median["atlas"] / median["floor_with_warm_up"], 3),
                "ratio_to_floor_with_libraries": round(median["atlas"] / median["floor_with_libraries"], 3),
                "libraries": libraries,
                "load_before_each": loads,
            }
            print(f"{service}: {json.dumps(results[service]['median_s'])}, load {loadavg()}", flush=True)
    write_result(
        "cold_start",
        {
            "settings": {"repeats": args.repeats, "workers": 1, "store": "local", "models": "manage.py seed_demo"},
            "load_gate": gate,
            "services": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
