"""Pieces every prediction endpoint shares."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from inference.model_cache import ModelNotServed, ModelUnavailable

# A model this process does not serve (ATLAS_SERVE_MODELS): the client may retry, and a router send it on.
NOT_SERVED_RETRY_AFTER = "5"


def unavailable_response(exc: ModelUnavailable) -> Response:
    """The 503 of a prediction without a servable model: Atlas's `error` and `model`, and the `detail` the
    replaced services' (FastAPI) clients read, worded as the MNIST service did ("No model loaded. ...");
    `Retry-After` when the model is served by another service of the deployment."""
    headers = {"Retry-After": NOT_SERVED_RETRY_AFTER} if isinstance(exc, ModelNotServed) else None
    return Response(
        {"error": str(exc), "model": exc.model_name, "detail": f"No model loaded. {exc}"},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers=headers,
    )


# The 503 every prediction endpoint answers when its model has no active version (for /docs).
UnavailableResponse = inline_serializer(
    "ModelUnavailable",
    {"error": serializers.CharField(), "model": serializers.CharField(), "detail": serializers.CharField()},
)

# The slow predictions' 503s (for /docs): no active version, or every slot of the worker busy
# (atlas.admission: `{"detail", "error": "overloaded", "model"}` with Retry-After); one shape.
SLOW_ERRORS = {
    503: OpenApiResponse(
        UnavailableResponse,
        description="The model has no active version here, or every slot of this worker is busy "
        "(`overloaded`, with Retry-After): retry later.",
    )
}
