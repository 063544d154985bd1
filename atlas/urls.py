"""Root URL configuration: the admin, the API schema and docs, and each app's routes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from inference.api.hippo import PlainJsonSchemaRenderer
from inference.metrics import metrics_view
from vocabulary import urls as vocabulary_urls

urlpatterns = [
    # The prediction routes come first: they are the hot path, and Django tries patterns in order.
    path("", include("inference.urls")),
    path("", include("inference.readiness")),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema")),
    # The paths FastAPI served the schema and its ReDoc page at (the MNIST service Atlas replaces).
    path(
        "openapi.json", SpectacularJSONAPIView.as_view(renderer_classes=[PlainJsonSchemaRenderer]), name="openapi-json"
    ),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("models_registry.urls")),
    # The dictionary: the MNIST service's deployed API, and its first API (the paths its README gives).
    path("v1/dictionary/", include(vocabulary_urls.urlpatterns)),
    path("vocabulary/", include(vocabulary_urls.legacy_urlpatterns)),
]

# Errors outside the API's views answer JSON (the admin keeps its HTML pages): atlas/http/error_views.py.
handler400 = "atlas.http.error_views.bad_request"
handler403 = "atlas.http.error_views.permission_denied"
handler404 = "atlas.http.error_views.page_not_found"
handler500 = "atlas.http.error_views.server_error"
