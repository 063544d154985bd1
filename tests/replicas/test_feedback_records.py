"""Feedback by request id across the workers of a replica: an answer is recorded by its worker's listener,
off the response path, so feedback sent to any worker finds the version that answered."""

from __future__ import annotations

import json

import pytest
import requests

from inference.runtimes import threat_rules
from models_registry import services
from models_registry.models import PredictionRecord
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_answer_is_recorded_by_its_workers_listener_and_feedback_finds_it(settings, start_replica, tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(threat_rules.extended_taxonomy()))
    version = services.model_version_register(
        model_name="threat_classifier", version="1.0.0", source=path, runtime="threat_rules", actor="t"
    )
    services.model_version_promote(version=version, actor="t")
    replica = start_replica(
        workers=2, env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "ATLAS_RELOAD_POLL_SECONDS": "0.2"}
    )
    answer = requests.post(
        f"{replica.url}/api/v1/classify/threat", json={"type": "text", "data": "They robbed the shop."}, timeout=30
    )
    rid = answer.headers["X-Request-ID"]

    wait_until(
        lambda: PredictionRecord.objects.filter(request_id=rid).exists(),
        timeout=15,
        what="the answer recorded by its worker's listener",
    )
    feedback = requests.post(
        f"{replica.url}/api/v1/training/feedback",
        json={"source_product": "halo", "prediction_id": rid, "actual_category": "property_crime"},
        timeout=30,
    ).json()

    assert (feedback["model"], feedback["version"], feedback["correct"]) == ("threat_classifier", "1.0.0", True)
