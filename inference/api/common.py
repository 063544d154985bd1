"""Pieces every prediction endpoint shares."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from inference.model_cache import ModelUnavailable


def unavailable_response(exc: ModelUnavailable) -> Response:
    return Response({"error": str(exc), "model": exc.model_name}, status=status.HTTP_503_SERVICE_UNAVAILABLE)


# The 503 every prediction endpoint answers when its model has no active version (for /docs).
UnavailableResponse = inline_serializer(
    "ModelUnavailable", {"error": serializers.CharField(), "model": serializers.CharField()}
)
