"""Rollouts in one serving process: the canary split and its stickiness, shadows, guardrails and the audit.

The listener's tick (inference.rollout_sync.tick) is called directly here; the replica tests run it in
real gunicorn workers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from inference import model_cache, rollout_sync
from inference.rollouts import choose_candidate, shadow_runner
from models_registry import selectors, services
from models_registry.models import ActivationEvent, Rollout
from models_registry.services import rollouts
from tests.rollouts.networks import digit
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def predict(client, pixels, key=None):
    headers = {"HTTP_X_ATLAS_ROUTE_KEY": key} if key else {}
    return client.post("/predict", {"pixels": pixels}, content_type="application/json", **headers)


def serving(client):
    """This process serves the digit model, as a worker would after its first request."""
    model_cache.mark_serving()
    assert predict(client, digit(overflow=False)).status_code == 200


def start(model, candidate, **options):
    options.setdefault("mode", "canary")
    return rollouts.rollout_start(model=model, candidate=candidate, actor="tester", **options)


def test_the_split_is_a_hash_of_the_key_so_every_worker_agrees():
    keys = [uuid.uuid4().hex for _ in range(10_000)]

    chosen = [choose_candidate(rollout_id=7, percent=25, key=key) for key in keys]

    assert 0.25 - 0.02 < sum(chosen) / len(keys) < 0.25 + 0.02  # 4.6 standard deviations
    assert chosen == [choose_candidate(rollout_id=7, percent=25, key=key) for key in keys]  # sticky
    # another rollout draws another cohort
    assert chosen != [choose_candidate(rollout_id=8, percent=25, key=key) for key in keys]


def test_a_canary_answers_its_share_and_names_the_version(client, stable, candidate):
    serving(client)
    start(stable.model, candidate, percent=30)
    rollout_sync.tick()

    keys = [f"user-{i}" for i in range(400)]
    versions = [predict(client, digit(overflow=False), key).json()["version"] for key in keys]

    rollout = Rollout.objects.get()
    expected = ["2.0.0" if choose_candidate(rollout_id=rollout.pk, percent=30, key=k) else "1.0.0" for k in keys]
    assert versions == expected
    assert 0.30 - 0.1 < versions.count("2.0.0") / len(keys) < 0.30 + 0.1
    # the same keys again: the same versions
    assert [predict(client, digit(overflow=False), k).json()["version"] for k in keys[:50]] == expected[:50]


def test_aborting_returns_to_the_stable_version_and_is_audited(client, stable, candidate):
    serving(client)
    rollout = start(stable.model, candidate, percent=100)
    rollout_sync.tick()
    assert predict(client, digit(overflow=False), "k").json()["version"] == "2.0.0"

    rollouts.rollout_abort(rollout=rollout, actor="alice", reason="looks odd")
    rollout_sync.tick()

    assert predict(client, digit(overflow=False), "k").json()["version"] == "1.0.0"
    assert list(ActivationEvent.objects.filter(model=stable.model).values_list("action", "actor"))[:2] == [
        ("rollout_abort", "alice"),
        ("rollout_start", "tester"),
    ]
    assert Rollout.objects.get().state == "aborted"


def test_a_candidate_that_errors_on_part_of_its_traffic_is_rolled_back(client, stable, faulty):
    serving(client)
    start(stable.model, faulty, percent=50, max_error_rate=0.1, min_requests=10, bake_seconds=3600)
    rollout_sync.tick()

    statuses = {}
    for i in range(80):
        response = predict(client, digit(overflow=i % 2 == 0, seed=i), key=f"k{i}")
        statuses.setdefault(response.json().get("version", "error"), []).append(response.status_code)
    rollout_sync.tick()  # flush this worker's counts, evaluate

    rollout = Rollout.objects.get()
    assert rollout.state == "rolled_back"
    assert set(statuses.get("1.0.0", [])) == {200}
    event = ActivationEvent.objects.filter(action="rollout_rollback").get()
    assert event.actor == "atlas"
    assert "candidate error rate" in event.reason
    figures = event.details["figures"]["candidate"]
    assert figures["errors"] > 0 and figures["error_rate"] > 0.1
    rollout_sync.tick()
    assert {predict(client, digit(overflow=False), f"k{i}").json()["version"] for i in range(40)} == {"1.0.0"}


def test_a_clean_bake_promotes_the_candidate_through_an_audited_promotion(client, stable, candidate):
    serving(client)
    rollout = start(stable.model, candidate, percent=50, max_error_rate=0.1, min_requests=5, bake_seconds=60)
    rollout_sync.tick()
    for i in range(40):
        assert predict(client, digit(overflow=False, seed=i), key=f"k{i}").status_code == 200
    Rollout.objects.filter(pk=rollout.pk).update(started_at=timezone.now() - timedelta(seconds=61))

    rollout_sync.tick()

    rollout.refresh_from_db()
    stable.model.refresh_from_db()
    assert (rollout.state, stable.model.active_version_id) == ("promoted", candidate.pk)
    promote = ActivationEvent.objects.filter(action="promote", to_version=candidate).get()
    assert promote.actor == "atlas"
    assert f"rollout {rollout.pk}" in promote.reason and "clean bake" in promote.reason
    assert promote.details["figures"]["candidate"]["errors"] == 0


def test_a_shadow_never_changes_an_answer_and_records_agreement(client, stable, candidate):
    serving(client)
    start(stable.model, candidate, mode="shadow", min_agreement=0.0, bake_seconds=3600)
    rollout_sync.tick()

    answers = [predict(client, digit(overflow=False, seed=i)).json() for i in range(30)]
    wait_until(shadow_runner.idle, timeout=10, what="the shadow queue to drain")
    rollout_sync.tick()

    assert {a["version"] for a in answers} == {"1.0.0"}
    figures = selectors.rollout_figures(rollout=Rollout.objects.get())
    assert figures["shadow"]["compared"] == 30
    assert figures["shadow"]["errors"] == 0
    assert 0 <= figures["shadow"]["agreement"] <= 1
    assert figures["candidate"]["requests"] == 0


def test_a_shadow_that_disagrees_too_much_is_rolled_back(client, stable, candidate):
    serving(client)
    start(stable.model, candidate, mode="shadow", min_agreement=0.99, min_requests=20, bake_seconds=3600)
    rollout_sync.tick()

    for i in range(40):
        predict(client, digit(overflow=False, seed=i))
    wait_until(shadow_runner.idle, timeout=10, what="the shadow queue to drain")
    rollout_sync.tick()

    rollout = Rollout.objects.get()
    assert rollout.state == "rolled_back"
    assert "shadow agreement" in rollout.reason


def test_only_one_rollout_runs_per_model(stable, candidate):
    start(stable.model, candidate)

    with pytest.raises(services.RegistryError, match="already has a running rollout"):
        start(stable.model, candidate)


def test_the_active_version_cannot_be_its_own_candidate(stable):
    with pytest.raises(services.RegistryError, match="already the active version"):
        start(stable.model, stable)
