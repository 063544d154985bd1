"""The edge devices (SAIT units) in the admin, beside the workers: which version of the edge model each
runs, from its telemetry (POST /api/v1/sait/telemetry). Read-only: devices write these rows."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import DeviceReport


@admin.register(DeviceReport)
class DeviceReportAdmin(admin.ModelAdmin[DeviceReport]):
    list_display = ["device_id", "model", "reported_version", "on_active_version", "last_seen"]
    list_filter = ["model"]
    search_fields = ["device_id"]

    @admin.display(boolean=True, description="On the active version")
    def on_active_version(self, report: DeviceReport) -> bool:
        return bool(report.model and report.version_id and report.version_id == report.model.active_version_id)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeviceReport]:
        return super().get_queryset(request).select_related("model", "version")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DeviceReport | None = None) -> bool:
        return False
