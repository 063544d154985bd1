"""Root URL configuration: the admin, the API schema and docs, and each app's routes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from inference import playground

urlpatterns = [
    # `/`: the playground for browsers, JSON for API clients (inference.playground.root).
    path("", playground.root, name="root"),
    # The prediction routes come first: they are the hot path, and Django tries patterns in order.
    path("", include("inference.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema")),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("models_registry.urls")),
    path("vocabulary/", include("vocabulary.urls")),
]
