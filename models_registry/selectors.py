"""Reads of the registry, shared by the admin, the APIs, the commands and the serving workers."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import ActivationEvent, ModelVersion, RegisteredModel, WorkerReport
from .versioning import sort_versions


def versions_newest_first(*, model: RegisteredModel) -> list[ModelVersion]:
    return sort_versions(model.versions.all(), key=lambda v: v.version)


def latest_version(*, model: RegisteredModel) -> ModelVersion | None:
    """The highest registered version by semantic order, retired and failed ones left out."""
    usable = model.versions.exclude(status__in=[ModelVersion.Status.RETIRED, ModelVersion.Status.FAILED])
    ordered = sort_versions(usable, key=lambda v: v.version)
    return ordered[0] if ordered else None


def history(*, model: RegisteredModel) -> QuerySet[ActivationEvent]:
    return model.history.select_related("from_version", "to_version").order_by("-id")


def rollback_target(*, model: RegisteredModel) -> ModelVersion | None:
    """The version that was active before the current one's latest activation.

    The history is replayed as a stack: a promotion pushes its version, a rollback pops back to the
    topmost entry of the version it went to. So 1.0.0 -> 1.1.0 -> 1.0.0 -> 1.2.0 rolls back to 1.0.0,
    then to 1.1.0, then to 1.0.0 (never toggling between the last two, never lost when a version was
    active twice). Retired and failed versions are skipped.
    """
    stack: list[int] = []
    events = model.history.filter(
        action__in=[ActivationEvent.Action.PROMOTE, ActivationEvent.Action.ROLLBACK]
    ).order_by("id")
    for event in events.values("action", "to_version_id"):
        target = event["to_version_id"]
        if event["action"] == ActivationEvent.Action.ROLLBACK and target in stack:
            top = len(stack) - 1 - stack[::-1].index(target)  # the most recent occurrence
            del stack[top + 1 :]
        elif not stack or stack[-1] != target:
            stack.append(target)
    active = model.active_version_id
    if stack and stack[-1] == active:
        stack.pop()
    unusable = {ModelVersion.Status.RETIRED, ModelVersion.Status.FAILED}
    candidates = {v.pk: v for v in model.versions.filter(pk__in=stack)}
    while stack:
        version = candidates.get(stack.pop())
        if version is not None and version.pk != active and version.status not in unusable:
            return version
    return None


def active_version_ids() -> dict[str, int | None]:
    """Model name -> active version id, in one query (the serving workers poll this)."""
    return dict(RegisteredModel.objects.values_list("name", "active_version_id"))


def store_metadata(*, version: ModelVersion) -> dict:
    """The shape of the old service's metadata.json and metadata endpoint."""
    return {
        "model_name": version.model.name,
        "version": version.version,
        "uploaded_at": version.created_at.isoformat() if version.created_at else None,
        "accuracy": version.metrics.get("accuracy"),
        "file_size_mb": round(version.size_bytes / (1024 * 1024), 3),
        "sha256": version.sha256,
        "storage": version.storage,
        "location": version.location,
        "revision": version.revision or None,
        "format": version.format,
        "status": version.status,
        "metrics": version.metrics,
        "metadata": version.metadata,
        "created_by": version.created_by,
        "notes": version.notes,
    }


def live_worker_reports() -> QuerySet[WorkerReport]:
    cutoff = timezone.now() - timedelta(seconds=settings.ATLAS_WORKER_STALE_SECONDS)
    return WorkerReport.objects.filter(heartbeat_at__gte=cutoff).select_related("model", "version")


def worker_summary() -> dict[str, dict]:
    """Per model: how many live workers report it, and how many serve its active version."""
    actives = active_version_ids()
    summary: dict[str, dict] = {name: {"total": 0, "on_active": 0, "errors": []} for name in actives}
    for report in live_worker_reports():
        entry = summary.setdefault(report.model.name, {"total": 0, "on_active": 0, "errors": []})
        entry["total"] += 1
        if report.version_id is not None and report.version_id == actives.get(report.model.name):
            entry["on_active"] += 1
        if report.last_error:
            entry["errors"].append({"host": report.host, "pid": report.pid, "error": report.last_error})
    return summary


def storage_summary() -> dict:
    kind = settings.MODEL_STORAGE_TYPE
    bucket = {"s3": settings.S3_BUCKET, "hf": settings.HF_MODEL_REPO}.get(kind)
    return {
        "type": kind,
        "bucket": bucket or None,
        "cache_dir": str(settings.MODEL_CACHE_DIR),
    }
