"""Golden sets: a version carries inputs with the answers they must give; promotion refuses it otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from inference.runtimes.numpy_mlp import read_npz
from models_registry import services
from models_registry.models import ActivationEvent

pytestmark = pytest.mark.django_db


def answer_of(version, pixels):
    from models_registry.services import model_version_file

    with model_version_file(version=version) as path:
        return read_npz(path).predict(np.asarray(pixels, dtype=np.float32))


def test_a_version_that_gives_its_golden_answers_is_promoted(candidate):
    pixels = [0.25] * 784
    probabilities = answer_of(candidate, pixels)
    golden = [
        {
            "input": {"pixels": pixels},
            "expected": {"predicted_digit": int(probabilities.argmax()), "confidence": float(probabilities.max())},
            "tolerance": 1e-5,
        }
    ]
    services.model_version_attach_golden(version=candidate, entries=golden, actor="test")

    event = services.model_version_promote(version=candidate, actor="test")

    assert (event.action, event.to_version.version) == ("promote", "2.0.0")


def test_a_golden_mismatch_refuses_the_promotion_and_names_it(stable, candidate):
    pixels = [0.25] * 784
    wrong = (int(answer_of(candidate, pixels).argmax()) + 1) % 10
    services.model_version_attach_golden(
        version=candidate,
        entries=[
            {"input": {"pixels": [0.0] * 784}, "expected": {}},
            {"input": {"pixels": pixels}, "expected": {"predicted_digit": wrong}},
        ],
        actor="test",
    )

    with pytest.raises(services.PromotionError) as refused:
        services.model_version_promote(version=candidate, actor="alice")

    assert "golden entry 1: predicted_digit is" in str(refused.value)
    assert f"expected {wrong}" in str(refused.value)
    stable.model.refresh_from_db()
    assert stable.model.active_version_id == stable.pk
    gate = ActivationEvent.objects.get(action=ActivationEvent.Action.GATE_REFUSED)
    assert (gate.to_version_id, gate.actor, gate.details["entry"], gate.details["passed"]) == (
        candidate.pk,
        "atlas",
        1,
        1,
    )


def test_scores_are_compared_within_the_tolerance(candidate):
    pixels = [0.25] * 784
    confidence = float(answer_of(candidate, pixels).max())
    services.model_version_attach_golden(
        version=candidate,
        entries=[{"input": {"pixels": pixels}, "expected": {"confidence": confidence + 0.01}, "tolerance": 0.001}],
        actor="test",
    )

    with pytest.raises(services.PromotionError, match=r"confidence is .* expected .* ± 0.001"):
        services.model_version_promote(version=candidate, actor="test")


def test_an_input_the_endpoint_would_refuse_fails_the_gate(candidate):
    services.model_version_attach_golden(
        version=candidate, entries=[{"input": {"pixels": [2.0] * 784}, "expected": {"predicted_digit": 1}}], actor="t"
    )

    with pytest.raises(services.PromotionError, match="golden entry 0: the input gave an error"):
        services.model_version_promote(version=candidate, actor="test")


def test_the_golden_set_command_attaches_a_file(candidate, tmp_path):
    path = tmp_path / "golden.json"
    path.write_text(json.dumps([{"input": {"pixels": [0.1] * 784}, "expected": {"predicted_digit": 3}}]))

    call_command("golden_set", "digit_classifier", "2.0.0", str(path))

    candidate.refresh_from_db()
    assert candidate.golden_set == [{"input": {"pixels": [0.1] * 784}, "expected": {"predicted_digit": 3}}]


def test_a_malformed_golden_file_is_refused_before_anything_changes(candidate, tmp_path):
    path = tmp_path / "golden.json"
    path.write_text(json.dumps([{"input": {}}]))

    with pytest.raises(CommandError, match='Entry 0 needs "input" and "expected"'):
        call_command("golden_set", "digit_classifier", "2.0.0", str(path))

    candidate.refresh_from_db()
    assert candidate.golden_set == []
