"""Pieces every prediction endpoint shares."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from inference.model_cache import ModelUnavailable


def unavailable_response(exc: ModelUnavailable) -> Response:
    """The 503 of a prediction without a servable model: Atlas's `error` and `model`, and the `detail` the
    replaced services' (FastAPI) clients read, worded as the MNIST service did ("No model loaded. ...")."""
    return Response(
        {"error": str(exc), "model": exc.model_name, "detail": f"No model loaded. {exc}"},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


# The 503 every prediction endpoint answers when its model has no active version (for /docs).
UnavailableResponse = inline_serializer(
    "ModelUnavailable",
    {"error": serializers.CharField(), "model": serializers.CharField(), "detail": serializers.CharField()},
)
