"""Writes of the worker reports: what each serving process (host, pid) has loaded, and its heartbeat.

Health reads them (selectors.worker_summary) to say how many workers serve the active version.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psutil
from django.conf import settings
from django.utils import timezone

from ..models import RegisteredModel, WorkerReport


def worker_report_save(
    *,
    host: str,
    pid: int,
    model_name: str,
    version_id: int | None,
    loaded_at: Any,
    last_error: str = "",
) -> None:
    """Record what one worker serves for one model (its heartbeat refreshes `heartbeat_at`)."""
    model = RegisteredModel.objects.filter(name=model_name).only("pk").first()
    if model is None:
        return
    WorkerReport.objects.update_or_create(
        host=host,
        pid=pid,
        model=model,
        defaults={
            "version_id": version_id,
            "loaded_at": loaded_at,
            "last_error": last_error[:2000],
            "heartbeat_at": timezone.now(),
        },
    )


def worker_reports_heartbeat(*, host: str, pid: int) -> None:
    WorkerReport.objects.filter(host=host, pid=pid).update(heartbeat_at=timezone.now())


def worker_reports_delete(*, host: str, pid: int) -> None:
    WorkerReport.objects.filter(host=host, pid=pid).delete()


def worker_reports_prune(*, host: str) -> int:
    """Delete the reports of workers that are gone: those of `host` (this machine) whose process no longer
    exists, and those of any host not heard from for ATLAS_WORKER_REPORT_EXPIRE_SECONDS (a replica that was
    killed or scaled away). Returns how many rows went. (A worker silent for a shorter while only stops
    counting in health, after ATLAS_WORKER_STALE_SECONDS; its rows stay.)"""
    cutoff = timezone.now() - timedelta(seconds=settings.ATLAS_WORKER_REPORT_EXPIRE_SECONDS)
    pids = set(WorkerReport.objects.filter(host=host).values_list("pid", flat=True).distinct())
    dead = [pid for pid in pids if not psutil.pid_exists(pid)]
    deleted, _ = WorkerReport.objects.filter(host=host, pid__in=dead).delete()
    expired, _ = WorkerReport.objects.filter(heartbeat_at__lt=cutoff).delete()
    return deleted + expired
