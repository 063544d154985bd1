"""Benchmark: rollouts (issue 11).

    .venv/bin/python bench/rollouts.py [--workers 2] [--concurrency 4] [--seconds 20] [--no-wait]

1. cost   in this process, POST /predict through Atlas's WSGI application with no socket (as gunicorn
          calls it), median microseconds per request with: no rollout; a canary at 50% (half the
          requests answered by the candidate); a shadow (every request copied to the candidate on the
          background thread). And the metrics' own share: the per-request metric calls (note + observe)
          timed alone, against the whole request. Ratios against "no rollout" in the same run.
2. bad canary   a gunicorn replica (atlas/gunicorn.conf.py, --workers sync workers, 0.2 s poll) under
          closed-loop load (bench/loadgen.py, a digit on which the candidate overflows) when a canary of
          that faulty version starts at 50% with max_error_rate 0.1 and min_requests 20: how many requests
          failed before the automatic rollback, and the time from the guardrail trip (the rollback's audit
          row) to the last answer a worker gave from the candidate.
Writes bench/results/rollouts.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import forget_this_process, write_digit_npz  # noqa: E402
from bench.world import World, setup_django, wait_for_quiet, wait_until, write_result  # noqa: E402

MODEL = "digit_classifier"


def register(world: World):
    from models_registry import services
    from tests.rollouts.networks import write_faulty_npz

    def one(version: str, path: Path):
        return services.model_version_register(
            model_name=MODEL, version=version, source=path, runtime="numpy_mlp", actor="bench"
        )

    stable = one("1.0.0", write_digit_npz(world.folder / "a.npz", seed=1))
    candidate = one("2.0.0", write_digit_npz(world.folder / "b.npz", seed=2))
    faulty = one("2.0.0-faulty", write_faulty_npz(world.folder / "f.npz"))
    services.model_version_promote(version=stable, actor="bench")
    stable.model.refresh_from_db()
    return stable, candidate, faulty


def cost(stable, candidate, body: bytes) -> dict:
    from django.core.wsgi import get_wsgi_application

    from atlas.http.request_context import RequestScope
    from bench.measure import time_calls, wsgi_caller
    from inference import metrics, model_cache, rollout_sync
    from inference.rollouts import shadow_runner
    from models_registry.services import rollouts

    model_cache.mark_serving()
    call = wsgi_caller(get_wsgi_application(), method="POST", path="/predict", body=body)
    assert call()[0].startswith("200"), call()
    figures = {"none": time_calls(call)}
    for mode, options in (("canary", {"percent": 50}), ("shadow", {})):
        rollout = rollouts.rollout_start(
            model=stable.model, candidate=candidate, mode=mode, actor="bench", bake_seconds=10**6, **options
        )
        rollout_sync.tick()
        figures[mode] = time_calls(call)
        wait_until(shadow_runner.idle, timeout=30, what="the shadow queue to drain")
        rollout_sync.tick()
        rollouts.rollout_abort(rollout=rollout, actor="bench", reason="bench")
        rollout_sync.tick()
        stable.model.refresh_from_db()
    scope = RequestScope({})

    def metric_calls() -> None:
        metrics.note_served(MODEL, "1.0.0")
        metrics.observe(scope.served, status=200, seconds=0.001)
        scope.served.clear()

    figures["metrics_calls_alone"] = time_calls(metric_calls)
    scope.close()
    base = figures["none"]["median_us"]
    return {
        **figures,
        "ratios_to_none": {
            "canary": round(figures["canary"]["median_us"] / base, 3),
            "shadow": round(figures["shadow"]["median_us"] / base, 3),
            "metrics_share_of_a_request": round(figures["metrics_calls_alone"]["median_us"] / base, 3),
        },
    }


def bad_canary(world: World, stable, faulty, *, workers: int, concurrency: int, seconds: float) -> dict:
    from bench.measure import finish_loadgen, start_loadgen
    from models_registry.models import ActivationEvent, Rollout
    from models_registry.services import rollouts
    from tests.rollouts.networks import digit

    body_file = world.folder / "overflow.json"
    body_file.write_text(json.dumps({"pixels": digit(overflow=True)}))
    atlas = world.gunicorn("atlas", workers=workers, env={"ATLAS_RELOAD_POLL_SECONDS": "0.2"})
    out = world.folder / "load.npz"
    load = start_loadgen(
        world, urls=[atlas.url + "/predict"], out=out, body_file=body_file, concurrency=concurrency, duration=seconds
    )
    time.sleep(2)  # steady state before the canary (bounded)
    started = time.time()
    rollout = rollouts.rollout_start(
        model=stable.model,
        candidate=faulty,
        mode="canary",
        percent=50,
        max_error_rate=0.1,
        min_requests=20,
        bake_seconds=3600,
        actor="bench",
    )
    wait_until(lambda: Rollout.objects.get(pk=rollout.pk).state == "rolled_back", timeout=seconds, what="the rollback")
    records = finish_loadgen(load, out, timeout=seconds + 90)
    trip = ActivationEvent.objects.get(action="rollout_rollback").created_at.timestamp()
    sent, done, status = records["t_send"], records["t_done"], records["status"]
    failed = status != 200
    after_trip = failed & (sent >= trip)
    last_bad = float(done[after_trip].max()) if after_trip.any() else trip
    return {
        "requests": int(len(status)),
        "failed_before_rollback": int((failed & (sent < trip)).sum()),
        "failed_after_trip": int(after_trip.sum()),
        "canary_start_to_trip_s": round(trip - started, 3),
        "trip_to_every_worker_on_stable_ms": round((last_bad - trip) * 1000, 1),
        "figures_at_trip": Rollout.objects.get(pk=rollout.pk).figures,
        "non_200_outside_the_canary": int((failed & (sent < started)).sum()),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()
    with World("rollouts") as world:
        setup_django(world)
        from bench.digits import sample_digit_body

        stable, candidate, faulty = register(world)
        costs = cost(stable, candidate, sample_digit_body())
        forget_this_process()
        canary = bad_canary(
            world, stable, faulty, workers=args.workers, concurrency=args.concurrency, seconds=args.seconds
        )
    result = {
        "settings": {
            "workers": args.workers,
            "concurrency": args.concurrency,
            "model": "numpy_mlp 784-16-10 (tests/factories.py), faulty candidate from tests/rollouts/networks.py",
            "guardrails": {"percent": 50, "max_error_rate": 0.1, "min_requests": 20},
            "poll_s": 0.2,
        },
        "load_gate": gate,
        "cost_per_request": costs,
        "bad_canary": canary,
    }
    print(json.dumps(result, indent=1, default=str))
    write_result("rollouts", result)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
