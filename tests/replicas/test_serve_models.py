"""ATLAS_SERVE_MODELS: a replica loads and serves only the models it names; the others answer 503 there, and
its readiness counts only what it serves. Real gunicorn replicas on loopback, sharing the test database."""

from __future__ import annotations

import json

import pytest
import requests

from inference.runtimes import threat_rules
from models_registry import services
from models_registry.models import WorkerReport
from tests.factories import write_digit_npz
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

DIGITS, THREAT = "digit_classifier", "threat_classifier"
WHY = (
    "This replica does not serve 'threat_classifier' (ATLAS_SERVE_MODELS=digit_classifier); "
    "send the request to a replica that serves it."
)
NOT_SERVED = {"error": WHY, "model": THREAT, "detail": f"No model loaded. {WHY}"}


def _threat_version(tmp_path, version: str):
    path = tmp_path / f"taxonomy-{version}.json"
    path.write_text(json.dumps(threat_rules.extended_taxonomy()))
    return services.model_version_register(
        model_name=THREAT, version=version, source=path, runtime="threat_rules", actor="test"
    )


@pytest.fixture
def digits_only_replica(settings, start_replica, tmp_path):
    """Both models active in the registry; a two-worker replica that serves only the digits, once both of
    its workers report serving digit_classifier 1.0.0."""
    digits = services.model_version_register(
        model_name=DIGITS, version="1.0.0", source=write_digit_npz(tmp_path / "d.npz", seed=1), runtime="numpy_mlp"
    )
    services.model_version_promote(version=digits, actor="test")
    services.model_version_promote(version=_threat_version(tmp_path, "1.0.0"), actor="test")
    replica = start_replica(
        workers=2,
        env={
            "MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR),
            "ATLAS_SERVE_MODELS": DIGITS,
            "ATLAS_RELOAD_POLL_SECONDS": "0.25",
        },
    )
    pids = replica.worker_pids()
    wait_until(
        lambda: worker_versions(DIGITS, pids) == dict.fromkeys(pids, "1.0.0"),
        timeout=60,
        what=f"both workers on digit_classifier 1.0.0: {worker_versions(DIGITS, pids)}",
    )
    return replica


def test_a_model_the_replica_does_not_serve_answers_503_saying_so(digits_only_replica):
    response = requests.post(
        f"{digits_only_replica.url}/api/v1/classify/threat", json={"type": "text", "data": "robbed"}, timeout=10
    )

    assert (response.status_code, response.json()) == (503, NOT_SERVED)


def test_the_served_model_answers(digits_only_replica):
    response = requests.post(f"{digits_only_replica.url}/predict", json={"pixels": [0.5] * 784}, timeout=10)

    assert (response.status_code, response.json()["model"], response.json()["version"]) == (200, DIGITS, "1.0.0")


def test_readiness_counts_only_the_served_models(digits_only_replica):
    response = requests.get(f"{digits_only_replica.url}/readyz", timeout=10)

    assert (response.status_code, response.json()) == (
        200,
        {
            "status": "ready",
            "database_connected": True,
            "models": {DIGITS: {"serving": "1.0.0", "on_active": True, "error": None}},
        },
    )


def test_the_workers_never_load_a_model_they_do_not_serve(digits_only_replica, tmp_path):
    # Given both workers serve the digits; when the threat model and then the digits get new versions
    services.model_version_promote(version=_threat_version(tmp_path, "1.1.0"), actor="test")
    digits = services.model_version_register(
        model_name=DIGITS, version="1.3.0", source=write_digit_npz(tmp_path / "d2.npz", seed=2)
    )
    services.model_version_promote(version=digits, actor="test")
    pids = digits_only_replica.worker_pids()
    wait_until(lambda: worker_versions(DIGITS, pids) == dict.fromkeys(pids, "1.3.0"), timeout=30, what="1.3.0")

    # Then the workers followed the digits and report nothing of the threat model
    assert set(WorkerReport.objects.filter(pid__in=pids).values_list("model__name", flat=True)) == {DIGITS}
