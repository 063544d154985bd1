"""Feedback: the correct answer for an earlier prediction, linked to the version that gave it.

- `prediction_records_save`: the serving workers' record of which version gave which answer to a request
  id (inference.prediction_log buffers them off the response path); only the newest
  settings.ATLAS_PREDICTION_RECORDS are kept.
- `prediction_feedback_submit`: finds the prediction (by its request id, else by the model version the
  client names or the version its device reports) and stores the correct answer. Feedback on the same
  prediction replaces the earlier one, so a version's live accuracy counts each prediction once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from .. import selectors
from ..errors import RegistryError
from ..models import ModelVersion, PredictionFeedback, PredictionRecord


@dataclass(frozen=True)
class Answer:
    """One answer a worker gave: the request's id, the version that answered, what it said."""

    request_id: str
    version_id: int
    predicted: str
    confidence: float | None
    answered_at: datetime


class FeedbackRefused(RegistryError):
    """The feedback names no prediction Atlas can link to a version; `field` is the body field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def prediction_records_save(*, answers: list[Answer]) -> int:
    """Write the answers (those of versions deleted meanwhile are dropped) and delete the records beyond
    the newest settings.ATLAS_PREDICTION_RECORDS. Returns how many were written."""
    known = set(ModelVersion.objects.filter(pk__in={a.version_id for a in answers}).values_list("pk", flat=True))
    rows = [
        PredictionRecord(
            request_id=a.request_id,
            version_id=a.version_id,
            predicted=a.predicted[:200],
            confidence=a.confidence,
            answered_at=a.answered_at,
        )
        for a in answers
        if a.version_id in known
    ]
    if not rows:
        return 0
    PredictionRecord.objects.bulk_create(rows)
    newest = PredictionRecord.objects.aggregate(newest=Max("pk"))["newest"] or 0
    PredictionRecord.objects.filter(pk__lte=newest - settings.ATLAS_PREDICTION_RECORDS).delete()
    return len(rows)


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def prediction_feedback_submit(
    *,
    model_name: str,
    actual: str,
    request_id: str = "",
    prediction_id: str = "",
    model_version: str = "",
    device_id: str = "",
    predicted: str = "",
    confidence: float | None = None,
    source: str = "",
    details: dict[str, Any] | None = None,
    authenticated: bool = False,
) -> PredictionFeedback:
    """Store `actual` as the correct answer of a prediction. The prediction is found by `request_id` (or a
    `prediction_id` that is one), else it is the client's: `model_version` of `model_name` (or the version
    `device_id` reports running) and its `predicted` answer. FeedbackRefused names what cannot be linked.
    `authenticated` (a staff user, the admin token) with a recorded answer makes it `verified`: only that
    counts toward a rollout's guardrail, which anyone could otherwise trigger."""
    named = request_id or prediction_id
    record = selectors.prediction_record(request_id=named) if named else None
    if request_id and record is None:
        raise FeedbackRefused(
            "request_id",
            f"No answer with X-Request-ID {request_id!r} is recorded (feedback by request id applies to threat "
            "classify, audio classify, detect and SAIT verify-with-audio answers still kept); send model_version and "
            "predicted_category instead.",
        )
    if record is not None:
        version = record.version
        if model_version and model_version != version.version:
            raise FeedbackRefused(
                "model_version",
                f"The answer {record.request_id!r} came from {version.model.name} {version.version}, "
                f"not {model_version}.",
            )
        predicted, confidence = record.predicted, confidence if confidence is not None else record.confidence
        key = record.request_id
    else:
        version = _named_version(model_name=model_name, model_version=model_version, device_id=device_id)
        if not predicted.strip():
            raise FeedbackRefused(
                "predicted_category",
                "predicted_category is required when the prediction is not known by its request id.",
            )
        key = prediction_id
    values = {
        "source": source[:50],
        "predicted": predicted[:200],
        "actual": actual[:200],
        "correct": _same(predicted, actual),
        "confidence": confidence,
        "details": details or {},
        "verified": authenticated and record is not None,
    }
    with transaction.atomic():
        if key:
            feedback, _ = PredictionFeedback.objects.update_or_create(
                version=version, prediction_id=key[:200], defaults=values
            )
        else:
            feedback = PredictionFeedback.objects.create(version=version, **values)
    # Open to anyone: bounded like the records, the newest settings.ATLAS_PREDICTION_RECORDS are kept.
    PredictionFeedback.objects.filter(pk__lte=feedback.pk - settings.ATLAS_PREDICTION_RECORDS).delete()
    return feedback


def _named_version(*, model_name: str, model_version: str, device_id: str) -> ModelVersion:
    """The version the client names, or the one its device reports running."""
    if not model_version and device_id:
        report = selectors.device_report(device_id=device_id)
        if report is None or report.version is None:
            raise FeedbackRefused(
                "device_id",
                f"Device {device_id!r} has reported no registered version in its telemetry; send model_version.",
            )
        return report.version
    if not model_version:
        raise FeedbackRefused(
            "model_version",
            "Name the prediction: request_id (the X-Request-ID of the answer), or model_version and "
            "predicted_category.",
        )
    model = selectors.registered_model(name=model_name)
    found = selectors.version_named(model=model, version=model_version) if model is not None else None
    if found is None:
        raise FeedbackRefused("model_version", f"{model_name} has no version {model_version!r}.")
    return found
