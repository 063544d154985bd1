"""Feedback on earlier predictions, at the threat-intelligence service's paths and in its answer shapes:

POST /api/v1/training/feedback   the correct answer for a prediction (Halo, Frontline; default model
                                 threat_classifier, or the edge model for source_product "sait")
POST /api/v1/sait/feedback       the same for a SAIT detection (default model: settings.ATLAS_EDGE_MODEL;
                                 `device_id` alone links to the version the device reports running)

The prediction is named by `request_id` (the X-Request-ID of a threat classify, audio classify, detect or
SAIT verify answer; a `prediction_id` that is one counts too), or by the old fields `model_version` and
`predicted_category`. Stored by services.prediction_feedback_submit; each version's live accuracy follows.
The old service answered constants; these answers keep its keys with honest values: nothing is queued for
training here (`added_to_training_queue` false), counts are of the feedback stored, unknowns are null.
A body that does not validate, or names no prediction Atlas can link, is FastAPI's 422
{"detail": [{"loc", "msg", "type"}], "error"}: the only error the old endpoints gave.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication, get_authorization_header
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.http.fastapi_schema import FastAPIValidationError
from atlas.http.throttling import SharedScopedRateThrottle
from inference import prediction_log
from inference.api.threat import THREAT_MODEL
from models_registry import selectors, services
from models_registry.api.authentication import token_matches

MAX_BODY_BYTES = 16 * 1024
MAX_METADATA_BYTES = 2 * 1024


class FeedbackSerializer(serializers.Serializer[Any]):
    """Both endpoints' body: the old TrainingFeedback fields (only actual_category still required) and
    Atlas's `request_id`, `model` and, for SAIT, `device_id`."""

    actual_category = serializers.CharField(max_length=200)
    request_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    prediction_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    model = serializers.CharField(max_length=100, required=False, allow_blank=True)
    model_version = serializers.CharField(max_length=64, required=False, allow_blank=True)
    predicted_category = serializers.CharField(max_length=200, required=False, allow_blank=True)
    confidence_score = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    source_product = serializers.CharField(max_length=50, required=False, allow_blank=True)
    user_correction = serializers.BooleanField(required=False, default=False)
    correction_metadata = serializers.DictField(required=False, allow_null=True)
    device_id = serializers.CharField(max_length=200, required=False, allow_blank=True)


def _impact(key: str) -> Any:
    return inline_serializer(
        f"FeedbackImpact_{key}",
        {
            key: serializers.IntegerField(),
            "estimated_accuracy_improvement": serializers.FloatField(allow_null=True),
            "retraining_scheduled": serializers.CharField(allow_null=True),
        },
    )


def _response(name: str, impact_key: str) -> Any:
    return inline_serializer(
        name,
        {
            "success": serializers.BooleanField(),
            "feedback_id": serializers.CharField(),
            "added_to_training_queue": serializers.BooleanField(),
            "impact": _impact(impact_key),
            "model": serializers.CharField(),
            "version": serializers.CharField(),
            "correct": serializers.BooleanField(),
            "live_accuracy": serializers.FloatField(allow_null=True),
        },
    )


def _invalid(errors: list[dict[str, Any]]) -> Response:
    return Response({"detail": errors, "error": "invalid_feedback"}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


def _metadata_refused(metadata: dict[str, Any] | None) -> str:
    """Why `correction_metadata` cannot be stored as it is (JSON the database takes, small), or ""."""
    if metadata is None:
        return ""
    try:
        text = json.dumps(metadata, allow_nan=False)
    except ValueError:
        return "correction_metadata must be JSON without NaN or Infinity."
    if "\\u0000" in text.replace("\\\\", ""):  # a NUL, which PostgreSQL's jsonb refuses
        return "correction_metadata must not contain NUL (\\u0000) characters."
    if len(text.encode()) > MAX_METADATA_BYTES:
        return f"correction_metadata is at most {MAX_METADATA_BYTES} bytes of JSON."
    return ""


def _sent_by_staff(request: Request) -> bool:
    """The admin token, or a staff user's session (CSRF-checked): feedback that may be verified. Anyone else
    is still heard, unverified; a wrong token is not an error here (the route is open)."""
    header = get_authorization_header(request).split()
    if len(header) == 2 and header[0].lower() == b"bearer":
        return token_matches(header[1].decode(errors="replace"))
    try:
        found = SessionAuthentication().authenticate(request)
    except exceptions.APIException:
        return False
    return found is not None and bool(found[0].is_staff)


def _field_errors(errors: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"loc": ["body", field], "msg": str(text), "type": "missing" if text.code == "required" else "value_error"}
        for field, texts in errors.items()
        for text in texts
    ]


class FeedbackView(APIView):
    authentication_classes = ()  # as the old service: open, rate-limited per client
    permission_classes = (AllowAny,)
    parser_classes = (JSONParser,)  # for the schema: the body is read once, with json.loads
    throttle_classes = (SharedScopedRateThrottle,)
    throttle_scope = "feedback"
    impact_key = ""

    def default_model(self, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        # Open to anyone: the body is bounded before a byte of it is read (Content-Length), and after.
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
            return Response(
                {"detail": f"A feedback body is at most {MAX_BODY_BYTES} bytes.", "error": "body_too_large"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return _invalid([{"loc": ["body"], "msg": f"The body is not JSON: {exc}", "type": "json_invalid"}])
        if not isinstance(payload, dict):
            return _invalid([{"loc": ["body"], "msg": "The body must be a JSON object.", "type": "dict_type"}])
        params = FeedbackSerializer(data=payload)
        if not params.is_valid():
            return _invalid(_field_errors(params.errors))
        body = params.validated_data
        refused = _metadata_refused(body.get("correction_metadata"))
        if refused:
            return _invalid([{"loc": ["body", "correction_metadata"], "msg": refused, "type": "value_error"}])
        prediction_log.flush()  # this worker's latest answers, so feedback right after one finds it
        details = {"user_correction": body["user_correction"], "correction_metadata": body.get("correction_metadata")}
        if body.get("device_id"):
            details["device_id"] = body["device_id"]
        try:
            feedback = services.prediction_feedback_submit(
                model_name=body.get("model") or self.default_model(body),
                actual=body["actual_category"],
                request_id=body.get("request_id", ""),
                prediction_id=body.get("prediction_id", ""),
                model_version=body.get("model_version", ""),
                device_id=body.get("device_id", ""),
                predicted=body.get("predicted_category", ""),
                confidence=body.get("confidence_score"),
                source=body.get("source_product", ""),
                details=details,
                authenticated=_sent_by_staff(request),
            )
        except services.FeedbackRefused as exc:
            return _invalid([{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}])
        counts = selectors.feedback_counts(version_ids=[feedback.version_id])
        received, confirmed = counts.get(feedback.version_id, (0, 0))
        return Response(
            {
                "success": True,
                "feedback_id": str(feedback.pk),
                "added_to_training_queue": False,  # Atlas keeps no training queue
                "impact": {
                    self.impact_key: selectors.similar_feedback_count(
                        feedback=feedback, same_answer=self.impact_key == "similar_detections"
                    ),
                    "estimated_accuracy_improvement": None,
                    "retraining_scheduled": None,
                },
                "model": feedback.version.model.name,
                "version": feedback.version.version,
                "correct": feedback.correct,
                "live_accuracy": selectors.live_accuracy(received, confirmed)["live_accuracy"],
            }
        )


class TrainingFeedbackView(FeedbackView):
    impact_key = "similar_mispredictions"

    def default_model(self, body: dict[str, Any]) -> str:
        return settings.ATLAS_EDGE_MODEL if body.get("source_product") == "sait" else THREAT_MODEL

    @extend_schema(
        tags=["feedback"],
        summary="The correct answer for an earlier prediction",
        description="Name the prediction by `request_id` (its answer's X-Request-ID) or by `model_version` and "
        "`predicted_category` (model: `model`, else threat_classifier, or the edge model for source_product "
        "sait). Feedback on the same prediction replaces the earlier one.",
        request=FeedbackSerializer,
        responses={200: _response("TrainingFeedbackResult", "similar_mispredictions"), 422: FastAPIValidationError},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class SaitFeedbackView(FeedbackView):
    impact_key = "similar_detections"

    def default_model(self, body: dict[str, Any]) -> str:
        return str(settings.ATLAS_EDGE_MODEL)

    @extend_schema(
        tags=["sait"],
        summary="The correct answer for an earlier SAIT detection",
        description="Name the detection by `request_id` (a verify answer's X-Request-ID), by `model_version` "
        "and `predicted_category` (of the edge model, or `model`), or by `device_id` and `predicted_category` "
        "(the version the device last reported running).",
        request=FeedbackSerializer,
        responses={200: _response("SaitFeedbackResult", "similar_detections"), 422: FastAPIValidationError},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


urlpatterns = [
    path("api/v1/training/feedback", TrainingFeedbackView.as_view(), name="training-feedback"),
    path("api/v1/sait/feedback", SaitFeedbackView.as_view(), name="sait-feedback"),
]
