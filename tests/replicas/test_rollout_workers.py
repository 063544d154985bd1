"""Rollouts across the workers of a gunicorn replica: the canary is sticky on every worker, an abort
returns every worker to the stable version, and a failing candidate is rolled back by the workers' own
figures."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from models_registry.models import Rollout
from models_registry.services import rollouts
from tests.rollouts.networks import digit
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def ask(url: str, key: str, *, overflow: bool = False, seed: int = 0) -> tuple[int, str]:
    answer = requests.post(
        f"{url}/predict",
        json={"pixels": digit(overflow=overflow, seed=seed)},
        headers={"X-Atlas-Route-Key": key},
        timeout=10,
    )
    return answer.status_code, answer.json().get("version", "-")


@pytest.fixture
def replica(settings, start_replica, stable):
    return start_replica(
        workers=2,
        env={
            "MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR),
            "ATLAS_RELOAD_POLL_SECONDS": "0.2",
            "ACCESS_LOG": "1",
        },
    )


def every_worker_serves(url: str, keys: list[str], version: str) -> bool:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return {v for _, v in pool.map(lambda k: ask(url, k), keys)} == {version}


def test_a_canary_is_sticky_on_every_worker_and_an_abort_reaches_them_all(replica, stable, candidate):
    rollout = rollouts.rollout_start(model=stable.model, candidate=candidate, mode="canary", percent=50, actor="t")
    keys = [f"user-{i}" for i in range(40)]
    chosen = {k for k in keys if rollouts_choice(rollout.pk, k)}

    def every_worker_on_the_candidate() -> bool:  # each worker loads it on its listener's next tick
        every_worker_serves(replica.url, sorted(chosen)[:8], "2.0.0")
        lines = re.findall(
            r"\[(\d+)\] atlas.requests: POST /predict 200 .* version=2\.0\.0", replica.log_path.read_text()
        )
        return len(set(lines)) == 2

    wait_until(every_worker_on_the_candidate, timeout=30, interval=0, what="both workers answering with the candidate")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda k: (k, ask(replica.url, k)[1]), keys * 4))

    by_key: dict[str, set[str]] = {}
    for key, version in answers:
        by_key.setdefault(key, set()).add(version)
    assert {k: v for k, v in by_key.items() if len(v) != 1} == {}  # sticky
    assert {k for k, v in by_key.items() if v == {"2.0.0"}} == chosen
    workers = set(re.findall(r"\[(\d+)\] atlas.requests: POST /predict 200 ", replica.log_path.read_text()))
    assert len(workers) == 2

    rollouts.rollout_abort(rollout=rollout, actor="t", reason="test")
    wait_until(lambda: every_worker_serves(replica.url, sorted(chosen), "1.0.0"), timeout=5, what="stable everywhere")


def test_a_failing_candidate_is_rolled_back_by_the_workers(replica, stable, faulty):
    rollouts.rollout_start(
        model=stable.model,
        candidate=faulty,
        mode="canary",
        percent=50,
        max_error_rate=0.1,
        min_requests=10,
        bake_seconds=3600,
        actor="t",
    )

    def traffic() -> bool:
        for i in range(20):
            ask(replica.url, f"k{i}", overflow=i % 2 == 0, seed=i)
        return Rollout.objects.get().state == "rolled_back"

    wait_until(traffic, timeout=60, interval=0.05, what="the automatic rollback")

    rollout = Rollout.objects.get()
    assert "candidate error rate" in rollout.reason
    assert rollout.figures["candidate"]["errors"] >= 1
    keys = [f"k{i}" for i in range(20)]
    wait_until(lambda: every_worker_serves(replica.url, keys, "1.0.0"), timeout=5, what="stable everywhere")


def rollouts_choice(rollout_id: int, key: str) -> bool:
    from inference.rollouts import choose_candidate

    return choose_candidate(rollout_id=rollout_id, percent=50, key=key)
