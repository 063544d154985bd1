"""The visual detector's endpoint, at the path and in the shape of the threat-intelligence API Atlas
replaces: POST /api/v1/detect with a multipart `file` field or a raw JPEG/PNG body.
"""

from __future__ import annotations

import io
import time
import warnings

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

from inference import model_cache, prediction_log, slow_lane
from inference.api.common import UnavailableResponse, unavailable_response
from inference.api.uploads import UPLOAD_ERRORS, UploadError, read_upload

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
            return ImageOps.exif_transpose(image).convert("RGB")
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
    slow_pool = True  # runs a slow model: answered by the slow pool where there is one (inference/slow_pool.py)
    # Public and stateless: no session, no token, so no CSRF and no database on the request path.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (MultiPartParser,)

    @extend_schema(
        tags=["vision"],
        summary="Detect objects and threat indicators in an image",
        description=(
            f"Multipart field `file`, or a raw body of type {', '.join(IMAGE_TYPES)}. "
            "Boxes are [x1, y1, x2, y2] in the image's pixels; each class has its own confidence threshold "
            "(the version's metadata). At most ATLAS_MAX_IMAGE_PIXELS pixels (default 25,000,000; more: 413, "
            "read from the header before decoding) and ATLAS_MAX_UPLOAD_MB (413)."
        ),
        request={
            "multipart/form-data": inline_serializer("ImageUpload", {"file": serializers.FileField()}),
            **{t: OpenApiRequest(OpenApiTypes.BINARY) for t in ("image/jpeg", "image/png")},
        },
        responses={200: DetectResponse, **UPLOAD_ERRORS, 503: UnavailableResponse},
    )
    def post(self, request: Request) -> Response:
        try:
            data = read_upload(request, accepted=IMAGE_TYPES, what="a JPEG or PNG image")
            image = slow_lane.run(decode_image, data)  # decoding is slow work too (ms of CPU, partly under the GIL)
            loaded = model_cache.get(VISUAL_MODEL)
        except UploadError as exc:
            return exc.response()
        except model_cache.ModelUnavailable as exc:
            return unavailable_response(exc)
        started = time.perf_counter()
        detections = loaded.predictor.detect(image)
        elapsed_ms = (time.perf_counter() - started) * 1000
        top = max(detections, key=lambda d: d["confidence"], default=None)  # the answer feedback judges
        prediction_log.remember(loaded, top["class"] if top else "none", top["confidence"] if top else None)
        return Response(
            {
                "detections": detections,
                "threat_analysis": loaded.predictor.threat_analysis(detections),
                "image": {"width": image.width, "height": image.height},
                "model": VISUAL_MODEL,
                "version": loaded.version,
                "inference_ms": round(elapsed_ms, 2),
            }
        )


urlpatterns = [
    path("api/v1/detect", DetectView.as_view(), name="vision-detect"),
]
