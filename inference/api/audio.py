"""The audio classifier's endpoint, at the path and in the shape of the threat-intelligence API Atlas
replaces: POST /api/v1/audio/classify with a multipart `file` field or a raw WAV body.

Uncompressed WAV only (PCM 8/16/24/32-bit integer, 32/64-bit float) at 4 to 192 kHz, up to
settings.ATLAS_MAX_AUDIO_SECONDS long. The header is read first (soundfile.info): any other container
(FLAC, OGG, MP3, ...) or a compressed WAV, a clip that is too long, or one with more samples than
`max_samples()` is refused before a single sample is decoded, so an upload never costs more memory
than its limit allows.
"""

from __future__ import annotations

import io
from typing import cast

import numpy as np
import soundfile
from django.conf import settings
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiRequest, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas import admission
from atlas.http.throttling import SharedScopedRateThrottle
from inference import model_cache, prediction_log
from inference.api.common import SLOW_ERRORS, unavailable_response
from inference.api.uploads import UPLOAD_ERRORS, UploadError, read_upload
from inference.runtimes.audio_features import MIN_SECONDS
from inference.runtimes.protocols import AudioClassifier

AUDIO_MODEL = "audio_classifier"
AUDIO_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")
MIN_RATE, MAX_RATE = 4_000, 192_000
WAV_CONTAINERS = ("WAV", "WAVEX")
WAV_SUBTYPES = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")
SAMPLES_PER_SECOND = 96_000  # across channels: 96 kHz mono or 48 kHz stereo at the longest duration


def max_samples() -> int:
    """The most samples (frames x channels) a clip may hold: the memory bound of one request."""
    return int(settings.ATLAS_MAX_AUDIO_SECONDS * SAMPLES_PER_SECOND)


def _check_header(data: bytes) -> None:
    """Refuse, from the header alone, anything but a WAV clip of bounded length."""
    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        raise UploadError(400, "invalid_audio", "The upload is not readable audio; send a WAV file.") from None
    if info.format not in WAV_CONTAINERS or info.subtype not in WAV_SUBTYPES:
        raise UploadError(
            415,
            "unsupported_audio_format",
            f"The audio is {info.format} {info.subtype}; send uncompressed WAV ({', '.join(WAV_SUBTYPES)}).",
        )
    limit = settings.ATLAS_MAX_AUDIO_SECONDS
    if info.samplerate > 0 and info.frames / info.samplerate > limit:
        raise UploadError(
            413,
            "audio_too_long",
            f"The audio is {info.frames / info.samplerate:.1f} s long; at most {limit:g} s (ATLAS_MAX_AUDIO_SECONDS).",
        )
    if info.frames * info.channels > max_samples():
        raise UploadError(
            413,
            "audio_too_large",
            f"The audio holds {info.frames * info.channels:,} samples ({info.channels} channels); "
            f"at most {max_samples():,}.",
        )


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(frames, channels) float32 samples and the sample rate; UploadError 4xx naming the problem."""
    _check_header(data)
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        raise UploadError(400, "invalid_audio", "The upload is not readable WAV audio.") from None
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
    permission_classes = (AllowAny,)
    parser_classes = (MultiPartParser,)
    throttle_classes = (SharedScopedRateThrottle,)
    throttle_scope = "audio"
    body_limit_setting = "ATLAS_MAX_UPLOAD_MB"  # checked from the headers (atlas.request_guard.BodyLimits)

    @extend_schema(
        tags=["audio"],
        summary="Classify a sound and its threat",
        description=(
            "Multipart field `file`, or a raw WAV body (audio/wav): uncompressed PCM or float WAV only "
            f"(other formats: 415). {MIN_RATE} to {MAX_RATE} Hz, mono or stereo; at least {MIN_SECONDS:.3f} s, "
            "at most ATLAS_MAX_AUDIO_SECONDS (default 60 s; longer: 413), checked from the header before "
            "decoding. The body is at most ATLAS_MAX_UPLOAD_MB (413). Rate-limited per client (scope `audio`: "
            "429); a worker busy with ATLAS_SLOW_CONCURRENCY slow predictions answers 503 `overloaded` with "
            "Retry-After after at most ATLAS_SLOW_WAIT_SECONDS."
        ),
        request={
            "multipart/form-data": inline_serializer("AudioUpload", {"file": serializers.FileField()}),
            "audio/wav": OpenApiRequest(OpenApiTypes.BINARY),
        },
        responses={200: AudioResponse, **UPLOAD_ERRORS, **SLOW_ERRORS},
    )
    def post(self, request: Request) -> Response:
        try:
            model_cache.require_served(AUDIO_MODEL)  # before the body: another service serves it
            samples, rate = decode_wav(read_upload(request, accepted=AUDIO_TYPES, what="a WAV file"))
            loaded = model_cache.get(AUDIO_MODEL)
        except UploadError as exc:
            return exc.response()
        except model_cache.ModelUnavailable as exc:
            return unavailable_response(exc)
        with admission.slot(AUDIO_MODEL):
            result = cast(AudioClassifier, loaded.predictor).classify(samples, rate)
        prediction_log.remember(loaded, result["class_name"], result["confidence"])
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
