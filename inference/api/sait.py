"""The SAIT edge channel of the threat-intelligence service, at its paths and in its shapes, made real:

POST /api/v1/sait/verify                  an edge detection (+ optional audio) checked by the active
                                          audio classifier
GET  /api/v1/sait/models/latest           the edge model's active version, from the registry
GET  /api/v1/sait/models/{version}/download  that version's bytes, verified against its sha256
POST /api/v1/sait/telemetry               a device's report, recording the version it runs
GET  /api/v1/sait/devices/{id}/status     what the device last reported, and when

Which registered model the devices run is settings.ATLAS_EDGE_MODEL (audio_classifier by default).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import time
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import numpy as np
from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas import admission
from atlas.http.parsers import SafeJSONParser
from atlas.http.throttling import SharedScopedRateThrottle
from atlas.request_guard import NUL_DETAIL
from inference import model_cache, prediction_log
from inference.api import threat_shape
from inference.api.audio import AUDIO_MODEL, decode_wav
from inference.api.common import SLOW_ERRORS, unavailable_response
from inference.api.threat import THREAT_MODEL
from inference.api.uploads import UploadError
from inference.runtimes.audio_features import MIN_SECONDS
from inference.runtimes.protocols import AudioClassifier, ThreatRules
from models_registry import artifact_cache, selectors, services
from models_registry.models import RegisteredModel
from models_registry.services import device_reports
from models_registry.storage import StorageError

TRUST_ABOVE = 0.85  # the old service's rule: an edge detection above this needs no cloud check
PCM_RATE = 16_000  # raw audio_base64 (not WAV) is 16 kHz 16-bit mono PCM, as the old service read it
MAX_TELEMETRY_BYTES = 64 * 1024
CHUNK = 256 * 1024


class SaitView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (SafeJSONParser,)  # the bodies are JSON objects, read as such (`_json_object`)
    throttle_classes = (SharedScopedRateThrottle,)
    throttle_scope = "sait"


class Text(serializers.CharField):
    """A JSON string, as the schema says and as the old service's pydantic `str` took it: DRF's CharField
    would store the number 0 as "0"; that is refused."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class EdgeDetectionSerializer(serializers.Serializer[Any]):
    device_id = Text(max_length=200)
    # Numbers as the old service's lax pydantic took them: a number's text ("0.9") and a boolean too; the schema
    # documents the JSON number (docs/COMPATIBILITY.md, SAIT).
    edge_class_id = serializers.IntegerField()
    edge_class_name = Text(max_length=200)
    edge_confidence = serializers.FloatField(min_value=0.0, max_value=1.0)
    timestamp = serializers.DateTimeField()
    location = serializers.DictField(child=serializers.FloatField(), required=False, allow_null=True)
    audio_base64 = Text(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)


def decode_audio(encoded: str) -> tuple[np.ndarray, int]:
    """WAV bytes, or raw 16 kHz 16-bit PCM, from base64; UploadError 400 naming the problem."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadError(400, "invalid_audio", f"audio_base64 is not base64: {exc}") from None
    if data[:4] == b"RIFF":
        return decode_wav(data)
    if len(data) % 2:
        raise UploadError(400, "invalid_audio", "Raw audio must be 16-bit PCM: an even number of bytes.")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if len(samples) / PCM_RATE < MIN_SECONDS:
        raise UploadError(
            400, "audio_too_short", f"The audio is {len(samples) / PCM_RATE:.3f} s long; at least {MIN_SECONDS} s."
        )
    return samples, PCM_RATE


def _json_object(request: Request) -> dict[str, Any] | Response:
    """The body as a JSON object, or the 400 that says why it is not one."""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return Response({"error": "invalid_json", "detail": f"The body is not JSON: {exc}"}, status=400)
    if not isinstance(body, dict):
        return Response({"error": "invalid_request", "detail": "The body must be a JSON object."}, status=400)
    return body


def _recommendations(class_name: str, confidence: float) -> list[str]:
    """What the active taxonomy recommends for this sound (nothing when no taxonomy is active)."""
    try:
        threat = model_cache.get(THREAT_MODEL)
    except model_cache.ModelUnavailable:
        return []
    rules = cast(ThreatRules, threat.predictor)
    result = rules.classify_audio({"class_name": class_name, "confidence": confidence})
    found, _ = threat_shape.classification(rules, result)
    return threat_shape.recommendations(found["severity"])


class VerifyView(SaitView):
    @extend_schema(
        tags=["sait"],
        summary="Verify an edge detection with the cloud audio classifier",
        request=EdgeDetectionSerializer,
        responses={200: OpenApiTypes.OBJECT, **SLOW_ERRORS},
    )
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        body = _json_object(request)
        if isinstance(body, Response):
            return body
        params = EdgeDetectionSerializer(data=body)
        params.is_valid(raise_exception=True)
        edge = params.validated_data
        answer: dict[str, Any] = {
            "edge_confidence": edge["edge_confidence"],
            "edge_class": edge["edge_class_id"],
        }
        if not edge.get("audio_base64"):
            trusted = edge["edge_confidence"] > TRUST_ABOVE
            answer |= {
                "verified": trusted,
                "cloud_confidence": edge["edge_confidence"] if trusted else 0.0,
                "cloud_class": edge["edge_class_id"] if trusted else -1,
                "action": "edge_detection_trusted" if trusted else "flagged_for_review",
                "final_category": edge["edge_class_name"] if trusted else "unknown",
                "recommendations": ["High edge confidence - no cloud verification needed"]
                if trusted
                else ["Low confidence, no audio provided for verification"],
            }
        else:
            try:
                samples, rate = decode_audio(edge["audio_base64"])
                audio = model_cache.get(AUDIO_MODEL)
            except UploadError as exc:
                return exc.response()
            except model_cache.ModelUnavailable as exc:
                return unavailable_response(exc)
            with admission.slot(AUDIO_MODEL):
                cloud = cast(AudioClassifier, audio.predictor).classify(samples, rate)
            prediction_log.remember(audio, cloud["class_name"], cloud["confidence"])
            agrees = cloud["class_name"] == edge["edge_class_name"]
            final = cloud["class_name"] if agrees or cloud["confidence"] >= edge["edge_confidence"] else "unknown"
            if agrees:
                action, notes = "cloud_verified", ["Cloud model confirms the edge detection"]
            elif final != "unknown":
                action, notes = "cloud_disagrees", [f"Cloud model hears {cloud['class_name']}; check the device"]
            else:
                action, notes = "flagged_for_review", ["Edge and cloud disagree with low confidence; review"]
            answer |= {
                "verified": agrees,
                "cloud_confidence": cloud["confidence"],
                "cloud_class": cloud["class_id"],
                "action": action,
                "final_category": final,
                "recommendations": notes + (_recommendations(final, cloud["confidence"]) if final != "unknown" else []),
                "model": AUDIO_MODEL,
                "version": audio.version,
            }
        answer["processing_time_ms"] = int((time.perf_counter() - started) * 1000)
        return Response(answer)


def _edge_model() -> RegisteredModel | None:
    return selectors.registered_model(name=settings.ATLAS_EDGE_MODEL)


def _not_found(detail: str) -> Response:
    return Response({"detail": detail}, status=status.HTTP_404_NOT_FOUND)


class LatestModelView(SaitView):
    @extend_schema(tags=["sait"], summary="The edge model's active version, for over-the-air updates")
    def get(self, request: Request) -> Response:
        model = _edge_model()
        if model is None or model.active_version is None:
            return _not_found(f"The edge model {settings.ATLAS_EDGE_MODEL!r} has no active version.")
        version = model.active_version
        metadata = version.metadata
        current = request.query_params.get("current_version")
        deployed = selectors.activated_at(version=version)
        return Response(
            {
                "model_version": version.version,
                "model_type": model.name,
                "architecture": str(metadata.get("architecture", model.runtime)),
                "num_classes": len(metadata.get("class_names") or []) or int(metadata.get("num_classes", 0)),
                "input_dim": int(metadata.get("input_dim", metadata.get("n_mels", 128))),
                "format": version.format,
                "accuracy": version.metrics.get("accuracy"),
                "size_kb": math.ceil(version.size_bytes / 1024),
                "deployed_at": deployed.isoformat() if deployed else None,
                "compatible_devices": list(metadata.get("compatible_devices", [])),
                "download_url": f"/api/v1/sait/models/{version.version}/download",
                "checksum": f"sha256:{version.sha256}",
                "update_available": current != version.version,
            }
        )


class _Download:
    """A file's bytes in chunks. Django calls `close()` when the response ends (streamed or not), which closes
    the file and releases the cache's lock on it: the file stays locked until then."""

    def __init__(self, handle: BinaryIO, stack: contextlib.ExitStack) -> None:
        self._handle, self._stack = handle, stack

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._handle.read(CHUNK):
            yield chunk

    def close(self) -> None:
        self._stack.close()


class DownloadModelView(SaitView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Devices send ?format=tflite|cmsis-nn|pytorch, which DRF would read as a renderer (404).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(tags=["sait"], summary="A version of the edge model, its bytes verified against the registry")
    def get(self, request: Request, version: str) -> StreamingHttpResponse | Response:
        model = _edge_model()
        found = model.versions.filter(version=version).first() if model else None
        if found is None:
            return _not_found(f"The edge model {settings.ATLAS_EDGE_MODEL!r} has no version {version!r}.")
        stack = contextlib.ExitStack()
        try:
            local = stack.enter_context(services.model_version_file(version=found))
            handle = stack.enter_context(open(local, "rb"))  # noqa: SIM115 -- closed when the stream ends
        except (StorageError, artifact_cache.ChecksumMismatch, services.RegistryError, OSError) as exc:
            stack.close()
            return Response(
                {"detail": f"Version {version} cannot be served: {exc}"}, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )
        response = StreamingHttpResponse(_Download(handle, stack), content_type="application/octet-stream")
        response["Content-Length"] = str(found.size_bytes)
        response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
        response["X-Model-Version"] = found.version
        response["X-Model-Format"] = found.format
        response["X-Checksum"] = f"sha256:{found.sha256}"
        return response


class TelemetryView(SaitView):
    @extend_schema(
        tags=["sait"],
        summary="A device's telemetry; records the edge model version it runs",
        request=inline_serializer(
            "SaitTelemetry",
            {
                "device_id": serializers.CharField(min_length=1, max_length=200),
                "model_version": serializers.CharField(required=False, allow_blank=True, max_length=100),
            },
        ),
    )
    def post(self, request: Request) -> Response:
        if len(request.body) > MAX_TELEMETRY_BYTES:
            return Response(
                {"error": "too_large", "detail": f"Telemetry is limited to {MAX_TELEMETRY_BYTES} bytes."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        body = _json_object(request)
        if isinstance(body, Response):
            return body
        device_id = body.get("device_id")
        reported = body.get("model_version", "")
        if not isinstance(device_id, str) or not 0 < len(device_id) <= 200:
            return Response(
                {"error": "invalid_request", "detail": "device_id must be a string of 1 to 200 characters."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if not isinstance(reported, str) or len(reported) > 100:
            return Response(
                {"error": "invalid_request", "detail": "model_version must be a string of at most 100 characters."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if "\x00" in device_id or "\x00" in reported:  # as every field of Atlas (the schema's pattern says so)
            return Response({"detail": NUL_DETAIL, "error": "nul_character"}, status=status.HTTP_400_BAD_REQUEST)
        device_reports.device_report_save(
            device_id=device_id,
            model_name=selectors.model_name_for(settings.ATLAS_EDGE_MODEL),
            reported_version=reported,
            telemetry=body,
        )
        return Response(
            {"success": True, "device_id": device_id, "received_at": timezone.now().isoformat(), "alerts": []}
        )


def _number(value: Any) -> int | float | None:
    """A figure the device reported, as it reported it; None when it did not (or sent something else)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


DeviceStatusResponse = inline_serializer(
    "SaitDeviceStatus",
    {
        "device_id": serializers.CharField(),
        "status": serializers.ChoiceField(choices=["online", "offline"]),
        "last_seen": serializers.DateTimeField(),
        "model_version": serializers.CharField(allow_null=True),
        "battery_percent": serializers.FloatField(allow_null=True),
        "network": inline_serializer(
            "SaitDeviceNetwork",
            {
                "mesh_neighbors": serializers.FloatField(allow_null=True),
                "signal_strength": serializers.FloatField(allow_null=True),
                "last_sync": serializers.DateTimeField(),
            },
        ),
        "recent_detections": serializers.FloatField(allow_null=True),
        "uptime_hours": serializers.FloatField(allow_null=True),
        "model": serializers.CharField(allow_null=True),
        "on_active_version": serializers.BooleanField(),
    },
)


class DeviceStatusView(SaitView):
    @extend_schema(
        tags=["sait"],
        summary="A device's status, from its last telemetry",
        description=f"`online` when its last report is under {device_reports.ONLINE_SECONDS} s old. Figures the "
        "device did not report are null. A device that never reported: 404.",
        responses={200: DeviceStatusResponse},
    )
    def get(self, request: Request, device_id: str) -> Response:
        report = selectors.device_report(device_id=device_id)
        if report is None:
            return _not_found(f"Device {device_id!r} has never sent telemetry.")
        told = report.telemetry
        network = told.get("network") if isinstance(told.get("network"), dict) else {}
        uptime = _number(told.get("uptime_hours"))
        if uptime is None and (seconds := _number(told.get("uptime_seconds"))) is not None:
            uptime = seconds / 3600
        detections = _number(told.get("recent_detections"))
        last_seen = report.last_seen.isoformat()
        return Response(
            {
                "device_id": report.device_id,
                "status": "online" if device_reports.is_online(report) else "offline",
                "last_seen": last_seen,
                "model_version": report.reported_version or None,
                "battery_percent": _number(told.get("battery_percent")),
                "network": {
                    "mesh_neighbors": _number(network.get("mesh_neighbors")),
                    "signal_strength": _number(network.get("signal_strength")),
                    "last_sync": last_seen,
                },
                "recent_detections": detections if detections is not None else _number(told.get("detections_count")),
                "uptime_hours": uptime,
                "model": report.model.name if report.model else None,
                "on_active_version": report.model is not None
                and report.version_id is not None
                and report.version_id == report.model.active_version_id,
            }
        )


urlpatterns = [
    path("api/v1/sait/verify", VerifyView.as_view(), name="sait-verify"),
    path("api/v1/sait/models/latest", LatestModelView.as_view(), name="sait-model-latest"),
    path("api/v1/sait/models/<str:version>/download", DownloadModelView.as_view(), name="sait-model-download"),
    path("api/v1/sait/telemetry", TelemetryView.as_view(), name="sait-telemetry"),
    path("api/v1/sait/devices/<str:device_id>/status", DeviceStatusView.as_view(), name="sait-device-status"),
]
