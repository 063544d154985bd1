"""The error answers of FastAPI, as the two services Atlas replaces gave them, described once for the schema:
a validation error `{"detail": [{"loc", "msg", "type"}], "error"}` (422) and `{"detail": "..."}` (404, 503, ...).
The MNIST paths (inference/api/hippo.py) and the dictionary (vocabulary/api_base.py) answer in these shapes."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

FastAPIValidationError = inline_serializer(
    "FastAPIValidationError",
    {
        "detail": serializers.ListField(
            child=inline_serializer(
                "FastAPIValidationItem",
                {
                    "loc": serializers.ListField(child=serializers.JSONField()),
                    "msg": serializers.CharField(),
                    "type": serializers.CharField(),
                },
            )
        ),
        "error": serializers.CharField(),
    },
)
FastAPIDetail = inline_serializer(
    "FastAPIDetail",
    {
        "detail": serializers.CharField(),
        "error": serializers.CharField(required=False),
        "model": serializers.CharField(required=False),
    },
)
