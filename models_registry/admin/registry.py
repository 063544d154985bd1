"""The registered models, their activation history and the worker reports in the admin. Every action calls
models_registry.services and is written to the admin log (LogEntry); the versions' pages are in versions.py, the
change pages' Promote and Roll back buttons, their confirmation pages and the "serving" column in control.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Field, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from .. import runtimes, services
from ..models import ActivationEvent, RegisteredModel, WorkerReport
from .control import ModelControlMixin, request_actor


def with_seconds(value: datetime) -> str:
    """A time as the admin shows it: local time, to the second."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"per_digit_accuracy": {"0": 0.98}} -> {"per_digit_accuracy 0": "0.98"}: one row per leaf value."""
    flat: dict[str, str] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_metrics(value, prefix=f"{name} "))
        elif isinstance(value, float):
            flat[name] = f"{value:.4g}"
        elif isinstance(value, (list, tuple)):
            flat[name] = ", ".join(str(item) for item in value)
        else:
            flat[name] = str(value)
    return flat


class ActivationEventInline(admin.TabularInline[ActivationEvent, RegisteredModel]):
    model = ActivationEvent
    fk_name = "model"
    fields = ["created_at", "action", "from_version", "to_version", "actor", "reason"]
    readonly_fields = ["created_at", "action", "from_version", "to_version", "actor", "reason"]
    ordering = ["-id"]
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "Activation history (newest first)"

    def has_add_permission(self, request: HttpRequest, obj: RegisteredModel | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RegisteredModel | None = None) -> bool:
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ModelControlMixin, admin.ModelAdmin[RegisteredModel]):
    list_display = ["name", "runtime", "active_version_link", "serving", "version_count"]
    search_fields = ["name", "description"]
    readonly_fields = ["active_version", "created_at"]
    fields = ["name", "runtime", "description", "active_version", "created_at"]
    inlines = [ActivationEventInline]
    actions = ["roll_back"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RegisteredModel]:
        annotated: QuerySet[RegisteredModel] = (
            super()
            .get_queryset(request)
            .select_related("active_version")
            .annotate(n_versions=Count("versions", distinct=True))
        )
        return annotated

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "runtime":
            # A choice of the registered runtimes, read when the form is built (settings.ATLAS_RUNTIMES).
            return forms.ChoiceField(
                choices=[(name, name) for name in runtimes.runtime_names()],
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: RegisteredModel | None = None) -> list[str]:
        if obj is not None and obj.versions.exists():
            # Its versions were verified and trial-loaded under this name and runtime.
            return ["name", "runtime", *self.readonly_fields]
        return list(self.readonly_fields)

    @admin.display(description="Active version", ordering="active_version__version")
    def active_version_link(self, obj: RegisteredModel) -> str:
        if obj.active_version is None:
            return "—"
        return format_html(
            '<a href="../modelversion/{}/change/">{}</a>',
            obj.active_version.pk,
            obj.active_version.version,
        )

    @admin.display(description="Versions", ordering="n_versions")
    def version_count(self, obj: RegisteredModel) -> int:
        return int(getattr(obj, "n_versions", 0))  # get_queryset's annotation

    @admin.action(
        description="Roll back to the previously active version",
        permissions=["rollback"],
    )
    def roll_back(self, request: HttpRequest, queryset: QuerySet[RegisteredModel]) -> None:
        for model in queryset:
            try:
                event = services.model_rollback(model=model, actor=request_actor(request), reason="admin: roll back")
            except services.RegistryError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                before = event.from_version.version if event.from_version else "nothing"
                after = event.to_version.version if event.to_version else "nothing"
                self.log_change(request, model, f"Roll back: {before} → {after} (admin: roll back)")
                self.message_user(request, f"{model.name}: rolled back from {before} to {after}.", messages.SUCCESS)


@admin.register(ActivationEvent)
class ActivationEventAdmin(admin.ModelAdmin[ActivationEvent]):
    list_display = [
        "created",
        "model",
        "action",
        "from_version",
        "to_version",
        "actor",
        "reason",
    ]
    list_filter = ["model", "action"]
    search_fields = ["actor", "reason"]
    date_hierarchy = "created_at"

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: ActivationEvent) -> str:
        return with_seconds(obj.created_at)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkerReport)
class WorkerReportAdmin(admin.ModelAdmin[WorkerReport]):
    list_display = [
        "host",
        "pid",
        "model",
        "version",
        "loaded_at",
        "heartbeat_at",
        "last_error",
    ]
    list_filter = ["model"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
