"""The registry API's query filters (django-filter): `?model=` on versions and on the activation history,
`?status=` on versions. drf-spectacular documents them from these classes."""

from __future__ import annotations

import django_filters

from models_registry.models import ActivationEvent, ModelVersion


class ModelVersionFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__name", help_text="Only this model's versions.")

    class Meta:
        model = ModelVersion
        fields = ["model", "status"]


class ActivationEventFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__name", help_text="Only this model's moves.")

    class Meta:
        model = ActivationEvent
        fields = ["model", "action"]
