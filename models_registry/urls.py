"""The registry's REST API and the admin API kept from the threat-intelligence service."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import admin_views, registry_views

router = SimpleRouter()
router.register(
    "api/v1/registry/models",
    registry_views.RegisteredModelViewSet,
    basename="registry-model",
)
router.register(
    "api/v1/registry/versions",
    registry_views.ModelVersionViewSet,
    basename="registry-version",
)
router.register(
    "api/v1/registry/jobs",
    registry_views.PromotionJobViewSet,
    basename="registry-job",
)
router.register(
    "api/v1/registry/history",
    registry_views.ActivationEventViewSet,
    basename="registry-history",
)

urlpatterns = [
    path(
        "api/v1/admin/reload-models",
        admin_views.ReloadModelsView.as_view(),
        name="admin-reload-models",
    ),
    path(
        "api/v1/admin/models/versions/<slug:model_name>",
        admin_views.ModelVersionsView.as_view(),
        name="admin-model-versions",
    ),
    path(
        "api/v1/admin/models/metadata/<slug:model_name>",
        admin_views.ModelMetadataView.as_view(),
        name="admin-model-metadata",
    ),
    path(
        "api/v1/admin/cache/clear",
        admin_views.CacheClearView.as_view(),
        name="admin-cache-clear",
    ),
    path("api/v1/admin/health", admin_views.HealthView.as_view(), name="admin-health"),
    *router.urls,
]
