"""The threat-intelligence service's info routes: GET / (service info), GET /health (the platform's
health check, tokenless) and GET /api/v1/models/active (from the registry).

GET / answers JSON to API clients; a browser (Accept prefers text/html) gets the playground page
(inference/playground.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.http.throttling import SharedScopedRateThrottle
from inference import model_cache, playground
from models_registry import selectors

SERVICE_NAME = "Atlas Intelligence"  # what the old service's clients check for in GET /
SERVED_MODELS = ("threat_classifier", "visual_detector", "audio_classifier")


class InfoView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (SharedScopedRateThrottle,)


class RootView(InfoView):
    throttle_scope = "info"

    @extend_schema(
        tags=["info"],
        summary="Service information (a browser may get the playground page)",
        responses=inline_serializer(
            "ServiceInfo",
            {
                "service": serializers.CharField(),
                "version": serializers.CharField(),
                "environment": serializers.CharField(),
                "status": serializers.CharField(),
                "timestamp": serializers.DateTimeField(),
                "documentation": serializers.CharField(),
                "health": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        if request._request.get_preferred_type(["application/json", "text/html"]) == "text/html":
            return playground.page(request._request)
        return Response(
            {
                "service": SERVICE_NAME,
                "version": settings.ATLAS_VERSION,
                "environment": settings.ATLAS_ENV,
                "status": "operational",
                "timestamp": timezone.now().isoformat(),
                "documentation": "/docs",
                "health": "/health",
            }
        )


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "unavailable"
    return "healthy"


def _service_status(name: str, active: dict[str, int | None]) -> str:
    if name in model_cache.failures():  # this worker failed to load the active version
        return "degraded"
    return "operational" if active.get(name) else "unavailable"


class HealthView(InfoView):
    throttle_scope = "health"

    @extend_schema(
        tags=["info"],
        summary="Health check (no token): database and the three threat-intelligence models",
        responses=inline_serializer(
            "ServiceHealth",
            {
                "status": serializers.CharField(),
                "database": serializers.ChoiceField(choices=["healthy", "unavailable"]),
                "mode": serializers.ChoiceField(choices=["full", "degraded"]),
                "services": serializers.DictField(child=serializers.CharField()),
                "version": serializers.CharField(),
                "timestamp": serializers.DateTimeField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        database = _database_status()
        try:
            active = selectors.active_version_ids() if database == "healthy" else {}
        except DatabaseError:
            database, active = "unavailable", {}
        return Response(
            {
                "status": "healthy",
                "database": database,
                "mode": "full" if database == "healthy" else "degraded",
                "services": {name: _service_status(name, active) for name in SERVED_MODELS},
                "version": settings.ATLAS_VERSION,
                "timestamp": timezone.now().isoformat(),
            }
        )


class ActiveModelsView(InfoView):
    throttle_scope = "models"

    @extend_schema(
        tags=["info"],
        summary="The active version of every model, with its measured accuracy and when it became active",
        responses=serializers.DictField(child=serializers.DictField()),
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.active_models())


urlpatterns = [
    path("", RootView.as_view(), name="service-root"),
    path("health", HealthView.as_view(), name="service-health"),
    path("api/v1/models/active", ActiveModelsView.as_view(), name="models-active"),
]
