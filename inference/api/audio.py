"""The audio classifier's endpoint, at the path and in the shape of the threat-intelligence API Atlas
replaces: POST /api/v1/audio/classify with a multipart `file` field or a raw WAV body.

WAV at any rate, mono or stereo, 16/24/32-bit integer or float, decoded with soundfile.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiRequest, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference import model_cache
from inference.api.common import UnavailableResponse, unavailable_response
from inference.api.uploads import UPLOAD_ERRORS, UploadError, read_upload
from inference.runtimes.audio_features import MIN_SECONDS

AUDIO_MODEL = "audio_classifier"
AUDIO_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")
MIN_RATE, MAX_RATE = 4_000, 192_000


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(frames, channels) float32 samples and the sample rate; UploadError 400 naming the problem."""
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise UploadError(400, "invalid_audio", f"The upload is not readable WAV audio: {exc}") from None
    if not MIN_RATE <= rate <= MAX_RATE:
        raise UploadError(
            400, "unsupported_sample_rate", f"The sample rate is {rate} Hz; use {MIN_RATE} to {MAX_RATE} Hz."
        )
    if len(samples) / rate < MIN_SECONDS:
        raise UploadError(
            400,
            "audio_too_short",
            f"The audio is {len(samples) / rate:.3f} s long; at least {MIN_SECONDS:.3f} s is needed.",
        )
    if not np.isfinite(samples).all():
        raise UploadError(400, "invalid_audio", "The audio holds NaN or infinite samples.")
    return samples, rate


AudioResponse = inline_serializer(
    "AudioClassification",
    {
        "class_id": serializers.IntegerField(),
        "class_name": serializers.CharField(),
        "confidence": serializers.FloatField(),
        "threat_category": serializers.CharField(),
        "severity": serializers.CharField(),
        "priority": serializers.IntegerField(),
        "top_k": serializers.ListField(
            child=inline_serializer(
                "AudioClassScore",
                {"class_name": serializers.CharField(), "confidence": serializers.FloatField()},
            )
        ),
        "audio": inline_serializer(
            "AudioInfo",
            {"sample_rate": serializers.IntegerField(), "duration_seconds": serializers.FloatField()},
        ),
        "model": serializers.CharField(),
        "version": serializers.CharField(),
    },
)


class AudioClassifyView(APIView):
    authentication_classes = ()
    permission_classes = ()
    parser_classes = (MultiPartParser,)

    @extend_schema(
        tags=["audio"],
        summary="Classify a sound and its threat",
        description=(
            "Multipart field `file`, or a raw WAV body (audio/wav). Any sample rate, mono or stereo; "
            f"at least {MIN_SECONDS:.3f} s."
        ),
        request={
            "multipart/form-data": inline_serializer("AudioUpload", {"file": serializers.FileField()}),
            "audio/wav": OpenApiRequest(OpenApiTypes.BINARY),
        },
        responses={200: AudioResponse, **UPLOAD_ERRORS, 503: UnavailableResponse},
    )
    def post(self, request: Request) -> Response:
        try:
            samples, rate = decode_wav(read_upload(request, accepted=AUDIO_TYPES, what="a WAV file"))
            loaded = model_cache.get(AUDIO_MODEL)
        except UploadError as exc:
            return exc.response()
        except model_cache.ModelUnavailable as exc:
            return unavailable_response(exc)
        result = loaded.predictor.classify(samples, rate)
        return Response(
            {
                **result,
                "audio": {"sample_rate": int(rate), "duration_seconds": round(len(samples) / rate, 3)},
                "model": AUDIO_MODEL,
                "version": loaded.version,
            }
        )


urlpatterns = [
    path("api/v1/audio/classify", AudioClassifyView.as_view(), name="audio-classify"),
]
