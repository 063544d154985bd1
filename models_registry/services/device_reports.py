"""Writes of the edge devices' reports (POST /api/v1/sait/telemetry): which version of the edge model
each device runs, so the admin can show devices on the active version beside the workers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..models import DeviceReport, RegisteredModel

# A device is `online` in its status (GET /api/v1/sait/devices/{id}/status) while its last report is younger.
ONLINE_SECONDS = 15 * 60


def is_online(report: DeviceReport) -> bool:
    return timezone.now() - report.last_seen < timedelta(seconds=ONLINE_SECONDS)


def device_report_save(
    *, device_id: str, model_name: str, reported_version: str, telemetry: dict[str, Any]
) -> DeviceReport:
    """Record the device's latest report; its version is linked where the edge model has one so named."""
    model = RegisteredModel.objects.filter(name=model_name).first()
    version = model.versions.filter(version=reported_version).first() if model and reported_version else None
    report, _ = DeviceReport.objects.update_or_create(
        device_id=device_id,
        defaults={
            "model": model,
            "reported_version": reported_version,
            "version": version,
            "telemetry": telemetry,
            "last_seen": timezone.now(),
        },
    )
    return report
