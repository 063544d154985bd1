"""The visual detector's endpoint, at the path and in the shape of the threat-intelligence API Atlas
replaces: POST /api/v1/detect with a multipart `file` field or a raw JPEG/PNG body.
"""

from __future__ import annotations

import io
import time
import warnings
from typing import cast

from django.conf import settings
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiRequest, extend_schema, inline_serializer
from PIL import Image, ImageOps, UnidentifiedImageError
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
from inference.runtimes.protocols import Detector

VISUAL_MODEL = "visual_detector"
IMAGE_TYPES = ("image/jpeg", "image/jpg", "image/png", "image/webp", "image/bmp")
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP")


def decode_image(data: bytes) -> Image.Image:
    """Decoded RGB image, upright per its EXIF; UploadError 400 if unreadable, 413 if too many pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as probe:
                width, height = probe.size  # from the header: a decompression bomb is refused undecoded
                limit = settings.ATLAS_MAX_IMAGE_PIXELS
                if width * height > limit:
                    raise UploadError(
                        413,
                        "image_too_large",
                        f"The image is {width}x{height}; at most {limit:,} pixels (ATLAS_MAX_IMAGE_PIXELS).",
                    )
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # upright without a copy (a copy per step cost ~1 ms)
            return image if image.mode == "RGB" else image.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadError(413, "image_too_large", f"The image has too many pixels: {exc}") from None
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow's message for an unknown format names its internal buffer object: not for a client
        reason = "its format is not one of these." if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise UploadError(
            400, "invalid_image", f"The upload is not a readable image ({', '.join(IMAGE_FORMATS)}): {reason}"
        ) from None


# --- Shapes, for the schema only -------------------------------------------------------------------

DetectResponse = inline_serializer(
    "Detection",
    {
        "detections": serializers.ListField(
            child=inline_serializer(
                "DetectedObject",
                {
                    "class": serializers.CharField(),
                    "class_id": serializers.IntegerField(),
                    "confidence": serializers.FloatField(),
                    "bbox": serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4),
                },
            )
        ),
        "threat_analysis": inline_serializer(
            "VisualThreatAnalysis",
            {
                "people_count": serializers.IntegerField(),
                "weapons_detected": serializers.IntegerField(),
                "vehicle_count": serializers.IntegerField(),
                "threat_indicators": serializers.ListField(child=serializers.CharField()),
                "threat_score": serializers.FloatField(),
            },
        ),
        "image": inline_serializer(
            "ImageSize", {"width": serializers.IntegerField(), "height": serializers.IntegerField()}
        ),
        "model": serializers.CharField(),
        "version": serializers.CharField(),
        "inference_ms": serializers.FloatField(),
    },
)


class DetectView(APIView):
    # Public and stateless: no session, no token, so no CSRF and no database on the request path.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (MultiPartParser,)
    throttle_classes = (SharedScopedRateThrottle,)
    throttle_scope = "detect"
    body_limit_setting = "ATLAS_MAX_UPLOAD_MB"  # checked from the headers (atlas.request_guard.BodyLimits)

    @extend_schema(
        tags=["vision"],
        summary="Detect objects and threat indicators in an image",
        description=(
            f"Multipart field `file`, or a raw body of type {', '.join(IMAGE_TYPES)}. "
            "Boxes are [x1, y1, x2, y2] in the image's pixels; each class has its own confidence threshold "
            "(the version's metadata). At most ATLAS_MAX_IMAGE_PIXELS pixels (default 25,000,000; more: 413, "
            "read from the header before decoding) and ATLAS_MAX_UPLOAD_MB (413). Rate-limited per client "
            "(scope `detect`: 429); a worker busy with ATLAS_SLOW_CONCURRENCY detections answers 503 "
            "`overloaded` with Retry-After after at most ATLAS_SLOW_WAIT_SECONDS."
        ),
        request={
            "multipart/form-data": inline_serializer("ImageUpload", {"file": serializers.FileField()}),
            **{t: OpenApiRequest(OpenApiTypes.BINARY) for t in ("image/jpeg", "image/png")},
        },
        responses={200: DetectResponse, **UPLOAD_ERRORS, **SLOW_ERRORS},
    )
    def post(self, request: Request) -> Response:
        try:
            model_cache.require_served(VISUAL_MODEL)  # before the body: another service serves it
            data = read_upload(request, accepted=IMAGE_TYPES, what="a JPEG or PNG image")
            image = decode_image(data)
            loaded = model_cache.get(VISUAL_MODEL)
        except UploadError as exc:
            return exc.response()
        except model_cache.ModelUnavailable as exc:
            return unavailable_response(exc)
        detector = cast(Detector, loaded.predictor)
        with admission.slot(VISUAL_MODEL):
            started = time.perf_counter()
            detections = detector.detect(image)
            elapsed_ms = (time.perf_counter() - started) * 1000
        top = max(detections, key=lambda d: d["confidence"], default=None)  # the answer feedback judges
        prediction_log.remember(loaded, top["class"] if top else "none", top["confidence"] if top else None)
        return Response(
            {
                "detections": detections,
                "threat_analysis": detector.threat_analysis(detections),
                "image": {"width": image.width, "height": image.height},
                "model": VISUAL_MODEL,
                "version": loaded.version,
                "inference_ms": round(elapsed_ms, 2),
            }
        )


urlpatterns = [
    path("api/v1/detect", DetectView.as_view(), name="vision-detect"),
]
