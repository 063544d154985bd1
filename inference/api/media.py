"""The threat-intelligence service's media analysis, at its path and in its shape:
POST /api/v1/analyze/media, multipart `file` + `media_type` (photo | audio; `analysis_depth` accepted).

A photo goes to the visual detector, audio to the audio classifier, each followed by the active threat
taxonomy's rules. The upload is bounded by MAX_MEDIA_SIZE_MB (default 50). Video is refused (415): the
old service answered a placeholder for it.
"""

from __future__ import annotations

import time
from typing import Any, cast

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas import admission
from atlas.http.throttling import SharedScopedRateThrottle
from atlas.request_guard import NUL_DETAIL
from inference import model_cache
from inference.api import threat_shape
from inference.api.audio import AUDIO_MODEL, AUDIO_TYPES, decode_wav
from inference.api.common import SLOW_ERRORS, unavailable_response
from inference.api.threat import THREAT_MODEL
from inference.api.uploads import UPLOAD_ERRORS, UploadError, read_upload
from inference.api.vision import IMAGE_TYPES, VISUAL_MODEL, decode_image
from inference.runtimes.protocols import AudioClassifier, Detector, ThreatRules
from models_registry import selectors

MEDIA_TYPES = ("photo", "audio", "video")
OLD_AUDIO_TYPES = (*AUDIO_TYPES, "audio/mpeg", "audio/mp4")  # read only where the decoder can


def _photo(data: bytes) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    image = decode_image(data)
    visual = model_cache.get(VISUAL_MODEL)
    threat = model_cache.get(THREAT_MODEL)
    detector, rules = cast(Detector, visual.predictor), cast(ThreatRules, threat.predictor)
    with admission.slot(VISUAL_MODEL):
        detections = detector.detect(image)
    analysis = detector.threat_analysis(detections)
    found, mappings = threat_shape.classification(rules, rules.classify_visual(detections))
    return (
        {
            "visual_analysis": {
                "objects": detections,
                "object_count": len(detections),
                "people_count": analysis["people_count"],
                "weapons_detected": analysis["weapons_detected"],
                "threat_indicators": analysis["threat_indicators"],
            }
        },
        {
            **found,
            "product_mappings": {**mappings, "frontline_objects": [d["class"] for d in detections]},
            "detected_objects": detections,
            "model_version": f"{THREAT_MODEL}-{threat.version}",
        },
        {
            "object_detector": f"{VISUAL_MODEL}-{visual.version}",
            "threat_classifier": f"{THREAT_MODEL}-{threat.version}",
        },
    )


def _audio(data: bytes) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    samples, rate = decode_wav(data)
    audio = model_cache.get(AUDIO_MODEL)
    threat = model_cache.get(THREAT_MODEL)
    rules = cast(ThreatRules, threat.predictor)
    with admission.slot(AUDIO_MODEL):
        sound = cast(AudioClassifier, audio.predictor).classify(samples, rate)
    found, _ = threat_shape.classification(rules, rules.classify_audio(sound))
    threatening = found["threat_category"] in ("weapons", "violence")
    return (
        {
            "audio_analysis": {
                "duration_seconds": round(len(samples) / rate, 3),
                "sample_rate": int(rate),
                "threat_sounds": [
                    {
                        "type": sound["class_name"],
                        "confidence": sound["confidence"],
                        "priority": sound["priority"],
                        "timestamp": 0.0,
                    }
                ],
                "aggression_score": found["confidence"] if found["threat_category"] == "violence" else 0.0,
                "distress_detected": threatening,
            },
            "recommendations": threat_shape.recommendations(found["severity"]),
        },
        {
            "category": found["threat_category"],
            "subcategory": sound["class_name"],
            "severity": found["severity"],
            "confidence": found["confidence"],
        },
        {"audio_classifier": f"{AUDIO_MODEL}-{audio.version}", "threat_classifier": f"{THREAT_MODEL}-{threat.version}"},
    )


class AnalyzeMediaView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (MultiPartParser,)
    throttle_classes = (SharedScopedRateThrottle,)
    throttle_scope = "analyze"
    body_limit_setting = "MAX_MEDIA_SIZE_MB"  # checked from the headers (atlas.request_guard.BodyLimits)

    @extend_schema(
        tags=["threat"],
        summary="Analyse an uploaded photo or sound for threats (the threat-intelligence service's shape)",
        request={
            "multipart/form-data": inline_serializer(
                "MediaUpload",
                {
                    "file": serializers.FileField(),
                    "media_type": serializers.ChoiceField(choices=["photo", "audio"]),
                    "analysis_depth": serializers.CharField(
                        required=False, allow_blank=True, help_text="Accepted and ignored (quick or detailed)."
                    ),
                },
            )
        },
        responses={
            200: inline_serializer(
                "MediaAnalysis",
                {
                    "success": serializers.BooleanField(),
                    "media_type": serializers.CharField(),
                    "visual_analysis": serializers.DictField(required=False),
                    "audio_analysis": serializers.DictField(required=False),
                    "threat_classification": serializers.DictField(),
                    "source_models": serializers.DictField(child=serializers.CharField()),
                    "processing_time_ms": serializers.IntegerField(),
                },
            ),
            **UPLOAD_ERRORS,
            **SLOW_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        media_type = request.POST.get("media_type") if request.content_type.startswith("multipart/") else None
        if media_type not in MEDIA_TYPES:
            return Response(
                {"error": "invalid_media_type", "detail": f"media_type is {media_type!r}; use photo or audio."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if "\x00" in request.POST.get("analysis_depth", ""):  # read by nothing, but no field takes a NUL
            return Response({"detail": NUL_DETAIL, "error": "nul_character"}, status=status.HTTP_400_BAD_REQUEST)
        if media_type == "video":
            return Response(
                {"error": "unsupported_media_type", "detail": "Video analysis is not offered; send a photo or audio."},
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        photo = media_type == "photo"
        try:
            data = read_upload(
                request,
                accepted=IMAGE_TYPES if photo else OLD_AUDIO_TYPES,
                what="a JPEG or PNG image" if photo else "a WAV file",
            )
            extra, classification, sources = (_photo if photo else _audio)(data)
        except UploadError as exc:
            return exc.response()
        except model_cache.ModelUnavailable as exc:
            return unavailable_response(exc)
        return Response(
            {
                "success": True,
                "media_type": media_type,
                **extra,
                "threat_classification": classification,
                "source_models": sources,
                "processing_time_ms": int((time.perf_counter() - started) * 1000),
            }
        )


class AnalyzeHealthView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (SharedScopedRateThrottle,)
    throttle_scope = "info"

    @extend_schema(tags=["threat"], summary="Whether media analysis can answer: its models have active versions")
    def get(self, request: Request) -> Response:
        active = selectors.active_version_ids()
        ready = all(active.get(name) for name in (VISUAL_MODEL, AUDIO_MODEL, THREAT_MODEL))
        return Response(
            {
                "status": "operational" if ready else "degraded",
                "models_loaded": ready,
                # the old service's keys; no video format is decoded here (a video upload is 415)
                "supported_formats": {"photo": ["jpg", "jpeg", "png", "webp", "bmp"], "video": [], "audio": ["wav"]},
                "timestamp": timezone.now().isoformat(),
            }
        )


urlpatterns = [
    path("api/v1/analyze/media", AnalyzeMediaView.as_view(), name="analyze-media"),
    path("api/v1/analyze/health", AnalyzeHealthView.as_view(), name="analyze-health"),
]
