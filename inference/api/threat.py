"""The threat classifier's endpoint, at the path and in the shape of the threat-intelligence API Atlas
replaces: POST /api/v1/classify/threat {"type", "data", "context"?, "options"?}.

`type` is text, visual, audio or multi_modal. `data` is a string for text; for visual a detect response
(or its `detections` list); for audio an audio classify response; for multi_modal an object with any of
"text", "visual", "audio" (the most severe part wins) or a string (read as text). Media URLs are not
fetched (400, naming analyze/media). The answer is the old shape (`classification`, `product_mappings`,
`nearby_patterns`, `recommendations`, `processing_time_ms`) plus `keywords_matched`, `model`, `version`.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.http.fastapi_schema import FastAPIValidationError
from atlas.http.throttling import SharedScopedRateThrottle
from inference import model_cache, prediction_log
from inference.api import threat_shape
from inference.api.common import UnavailableResponse, unavailable_response
from inference.runtimes.protocols import ThreatRules
from inference.runtimes.threat_rules import KINDS, ThreatInputError

THREAT_MODEL = "threat_classifier"
TYPES = (*KINDS, "multi_modal")


def _bad_request(error: str, detail: str) -> Response:
    return Response({"error": error, "detail": detail}, status=status.HTTP_400_BAD_REQUEST)


def _validation_error(payload: object) -> Response:
    """FastAPI's 422 for a body its pydantic model refused (the old service's), with Atlas's code as `error`."""
    if isinstance(payload, dict):
        items = [
            {"loc": ["body", name], "msg": "Field required", "type": "missing"}
            for name in ("type", "data")
            if name not in payload
        ]
    else:
        message = "Input should be a valid dictionary or object to extract fields from"
        items = [{"loc": ["body"], "msg": message, "type": "model_attributes_type"}]
    return Response({"detail": items, "error": "invalid_request"}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


def _looks_like_url(value: str) -> bool:
    return value.strip().lower().startswith(("http://", "https://", "s3://", "ftp://", "file://", "data:"))


def classify_parts(predictor: ThreatRules, kind: str, data: Any) -> dict[str, Any]:
    """The runtime's result for one request; ThreatInputError names what does not fit."""
    if kind in ("visual", "audio") and isinstance(data, str):
        if _looks_like_url(data):
            raise ThreatInputError(
                f"For type {kind!r}, Atlas does not fetch media URLs; upload the file to POST "
                "/api/v1/analyze/media, or send the detections / audio result as data."
            )
        raise ThreatInputError(f"For type {kind!r}, data must be a detect or audio classify result, not a string.")
    if kind != "multi_modal":
        result: dict[str, Any] = predictor.classify(kind=kind, data=data)
        return result
    if isinstance(data, str):
        text_result: dict[str, Any] = predictor.classify(kind="text", data=data)
        return text_result
    if not isinstance(data, dict) or not any(k in data for k in KINDS):
        raise ThreatInputError('For type "multi_modal", data must be an object with "text", "visual" and/or "audio".')
    results = [classify_parts(predictor, k, data[k]) for k in KINDS if k in data]
    levels = predictor.levels

    def weight(r: dict[str, Any]) -> tuple[bool, int, float]:
        return (r["threat_category"] != predictor.no_threat, levels.index(r["severity"]), r["confidence"])

    return max(results, key=weight)


ThreatRequest = inline_serializer(
    "ThreatRequest",
    {
        "type": serializers.ChoiceField(choices=list(TYPES)),
        "data": serializers.JSONField(
            help_text="text: a string; visual: detections or a detect response; audio: an audio classify "
            'response; multi_modal: {"text", "visual", "audio"}'
        ),
        "context": serializers.DictField(required=False, allow_null=True),
        "options": serializers.DictField(required=False, allow_null=True),
    },
)
ThreatResponse = inline_serializer(
    "ThreatClassification",
    {
        "classification": inline_serializer(
            "ThreatClassificationCore",
            {
                "threat_category": serializers.CharField(),
                "threat_subcategory": serializers.CharField(),
                "severity": serializers.IntegerField(min_value=1, max_value=5),
                "confidence": serializers.FloatField(),
            },
        ),
        "product_mappings": inline_serializer(
            "ThreatProductMappings",
            {
                "halo_incident_type": serializers.CharField(),
                "polisen_type": serializers.CharField(),
                "frontline_objects": serializers.ListField(child=serializers.CharField()),
                "sait_threat_level": serializers.CharField(),
            },
        ),
        "nearby_patterns": serializers.ListField(child=serializers.DictField()),
        "recommendations": serializers.ListField(child=serializers.CharField()),
        "processing_time_ms": serializers.IntegerField(),
        "keywords_matched": serializers.ListField(child=serializers.CharField()),
        "model": serializers.CharField(),
        "version": serializers.CharField(),
    },
)
ThreatError = inline_serializer("ThreatError", {"error": serializers.CharField(), "detail": serializers.CharField()})


class ClassifyThreatView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (JSONParser,)  # for the schema: the body is read once, with json.loads
    throttle_classes = (SharedScopedRateThrottle,)
    throttle_scope = "classify"

    @extend_schema(
        tags=["threat"],
        summary="Classify the threat in a text, a set of detections or a sound",
        description="Keywords match whole words and their inflections. The taxonomy is the active version's.",
        request=ThreatRequest,
        responses={200: ThreatResponse, 400: ThreatError, 422: FastAPIValidationError, 503: UnavailableResponse},
    )
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            return _bad_request("invalid_json", f'The body is not JSON ({exc}); send {{"type": ..., "data": ...}}.')
        if not isinstance(payload, dict) or "type" not in payload or "data" not in payload:
            return _validation_error(payload)
        kind = payload["type"]
        if kind not in TYPES:
            return _bad_request("invalid_type", f'"type" is {kind!r}; use one of {", ".join(TYPES)}.')
        for key in ("context", "options"):
            if payload.get(key) is not None and not isinstance(payload[key], dict):
                return _bad_request("invalid_request", f'"{key}" must be an object when given.')
        try:
            loaded = model_cache.get(THREAT_MODEL)
            rules = cast(ThreatRules, loaded.predictor)
            result = classify_parts(rules, kind, payload["data"])
        except ThreatInputError as exc:
            return _bad_request("invalid_data", str(exc))
        except model_cache.ModelUnavailable as exc:
            return unavailable_response(exc)
        found, mappings = threat_shape.classification(rules, result)
        prediction_log.remember(loaded, found["threat_category"], found["confidence"])
        return Response(
            {
                "classification": found,
                "product_mappings": mappings,
                "nearby_patterns": [],
                "recommendations": threat_shape.recommendations(found["severity"]),
                "processing_time_ms": int((time.perf_counter() - started) * 1000),
                "keywords_matched": result["keywords_matched"],
                "model": THREAT_MODEL,
                "version": loaded.version,
            }
        )


urlpatterns = [
    path("api/v1/classify/threat", ClassifyThreatView.as_view(), name="threat-classify"),
]
