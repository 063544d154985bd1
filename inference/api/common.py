"""Pieces every prediction endpoint shares."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from inference.model_cache import ModelUnavailable


def unavailable_response(exc: ModelUnavailable) -> Response:
    return Response({"error": str(exc), "model": exc.model_name}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
