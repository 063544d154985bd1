"""The live-accuracy guardrail: a canary whose answers feedback corrects too often is rolled back, by the
pure decision and by the workers' evaluation on the feedback stored."""

from __future__ import annotations

import pytest
from django.utils import timezone

from models_registry import services
from models_registry.models import ActivationEvent, PredictionFeedback, Rollout
from models_registry.services import rollouts
from models_registry.services.feedback import Answer

pytestmark = pytest.mark.django_db


def figures(received: int, confirmed: int) -> dict:
    counts = {"requests": 0, "errors": 0, "error_rate": 0.0, "p99_seconds": None}
    feedback = {
        "received": received,
        "confirmed": confirmed,
        "live_accuracy": confirmed / received if received else None,
    }
    return {
        "stable": counts,
        "candidate": {**counts, "feedback": feedback},
        "p99_ratio": None,
        "shadow": {"compared": 0, "agreed": 0, "agreement": None, "dropped": 0, "errors": 0},
    }


@pytest.mark.parametrize(
    ("received", "confirmed", "decision"),
    [
        (10, 7, "rollback"),  # 0.7 < 0.8 over enough feedback
        (10, 8, None),  # at the minimum: keeps baking
        (9, 0, None),  # too little feedback to judge
    ],
)
def test_decide_rolls_back_below_min_live_accuracy_over_min_requests_feedback(received, confirmed, decision):
    rollout = Rollout(
        mode="canary", min_requests=10, min_live_accuracy=0.8, bake_seconds=3600, started_at=timezone.now()
    )

    verdict = rollouts.decide(rollout, figures(received, confirmed), now=timezone.now())

    assert (verdict[0] if verdict else None) == decision


def _feedback(candidate, actuals: list[str], *, authenticated: bool) -> None:
    """Feedback on answers the candidate gave (each "3", recorded), correcting them to `actuals`."""
    now = timezone.now()
    answers = [Answer(f"req-{n}", candidate.pk, "3", None, now) for n in range(len(actuals))]
    services.prediction_records_save(answers=answers)
    for answer, actual in zip(answers, actuals, strict=True):
        services.prediction_feedback_submit(
            model_name="digit_classifier", request_id=answer.request_id, actual=actual, authenticated=authenticated
        )


def test_a_canary_corrected_too_often_by_feedback_is_rolled_back_and_audited(stable, candidate):
    rollout = rollouts.rollout_start(
        model=stable.model, candidate=candidate, mode="canary", actor="t", min_requests=4, min_live_accuracy=0.75
    )
    _feedback(candidate, ["3", "3", "5", "8"], authenticated=True)

    assert rollouts.rollout_evaluate(rollout_id=rollout.pk) == "rollback"

    event = ActivationEvent.objects.get(action="rollout_rollback")
    assert event.reason == "candidate live accuracy 0.500 over 4 feedback is below min_live_accuracy 0.75"
    assert event.details["figures"]["candidate"]["feedback"] == {"received": 4, "confirmed": 2, "live_accuracy": 0.5}


def test_anonymous_feedback_is_stored_unverified_and_does_not_roll_back(stable, candidate):
    rollout = rollouts.rollout_start(
        model=stable.model, candidate=candidate, mode="canary", actor="t", min_requests=4, min_live_accuracy=0.75
    )

    _feedback(candidate, ["5", "5", "5", "5"], authenticated=False)

    assert rollouts.rollout_evaluate(rollout_id=rollout.pk) is None
    assert ActivationEvent.objects.filter(action="rollout_rollback").count() == 0
    assert list(PredictionFeedback.objects.values_list("verified", flat=True)) == [False] * 4


def test_authenticated_feedback_linked_to_no_recorded_answer_does_not_roll_back(stable, candidate):
    rollout = rollouts.rollout_start(
        model=stable.model, candidate=candidate, mode="canary", actor="t", min_requests=4, min_live_accuracy=0.75
    )
    for n in range(4):
        services.prediction_feedback_submit(
            model_name="digit_classifier",
            prediction_id=f"p{n}",
            model_version="2.0.0",
            predicted="3",
            actual="5",
            authenticated=True,
        )

    assert rollouts.rollout_evaluate(rollout_id=rollout.pk) is None
    assert ActivationEvent.objects.filter(action="rollout_rollback").count() == 0
