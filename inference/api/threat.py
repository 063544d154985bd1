"""The threat classifier's endpoint, at the path and in the shape of the threat-intelligence API Atlas
replaces: POST /api/v1/classify/threat {"type": "text"|"visual"|"audio", "data": ...}.

`data` is a string for text, a detect response (or its `detections` list) for visual, an audio
classify response for audio. The body is parsed once with json.loads.
"""

from __future__ import annotations

import json

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference import model_cache
from inference.api.common import UnavailableResponse, unavailable_response
from inference.runtimes.threat_rules import KINDS, ThreatInputError

THREAT_MODEL = "threat_classifier"


def _bad_request(error: str, detail: str) -> Response:
    return Response({"error": error, "detail": detail}, status=status.HTTP_400_BAD_REQUEST)


ThreatRequest = inline_serializer(
    "ThreatRequest",
    {
        "type": serializers.ChoiceField(choices=list(KINDS)),
        "data": serializers.JSONField(
            help_text=("text: a string; visual: detections or a detect response; audio: an audio classify response")
        ),
    },
)
ThreatResponse = inline_serializer(
    "ThreatClassification",
    {
        "threat_category": serializers.CharField(),
        "severity": serializers.CharField(),
        "confidence": serializers.FloatField(),
        "keywords_matched": serializers.ListField(child=serializers.CharField()),
        "model": serializers.CharField(),
        "version": serializers.CharField(),
    },
)
ThreatError = inline_serializer("ThreatError", {"error": serializers.CharField(), "detail": serializers.CharField()})


class ClassifyThreatView(APIView):
    authentication_classes = ()
    permission_classes = ()
    parser_classes = (JSONParser,)  # for the schema: the body is read once, with json.loads

    @extend_schema(
        tags=["threat"],
        summary="Classify the threat in a text, a set of detections or a sound",
        description="Keywords match whole words, case-insensitively. The taxonomy is the active version's.",
        request=ThreatRequest,
        responses={200: ThreatResponse, 400: ThreatError, 503: UnavailableResponse},
    )
    def post(self, request: Request) -> Response:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            return _bad_request("invalid_json", f'The body is not JSON ({exc}); send {{"type": ..., "data": ...}}.')
        if not isinstance(payload, dict) or "type" not in payload or "data" not in payload:
            return _bad_request("invalid_request", 'The body must be a JSON object with "type" and "data".')
        kind = payload["type"]
        if kind not in KINDS:
            return _bad_request("invalid_type", f'"type" is {kind!r}; use one of {", ".join(KINDS)}.')
        try:
            loaded = model_cache.get(THREAT_MODEL)
            result = loaded.predictor.classify(kind=kind, data=payload["data"])
        except ThreatInputError as exc:
            return _bad_request("invalid_data", str(exc))
        except model_cache.ModelUnavailable as exc:
            return unavailable_response(exc)
        return Response({**result, "model": THREAT_MODEL, "version": loaded.version})


urlpatterns = [
    path("api/v1/classify/threat", ClassifyThreatView.as_view(), name="threat-classify"),
]
