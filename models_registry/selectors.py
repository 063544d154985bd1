"""Reads of the registry, shared by the admin, the APIs, the commands and the serving workers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from .models import (
    ActivationEvent,
    DeviceReport,
    ModelVersion,
    PredictionFeedback,
    PredictionRecord,
    RegisteredModel,
    Rollout,
    WorkerReport,
)
from .versioning import sort_versions


def model_name_for(name: str) -> str:
    """A registered model's name, from its name or one of its aliases (settings.ATLAS_MODEL_ALIASES)."""
    return settings.ATLAS_MODEL_ALIASES.get(name, name)


def aliases_of(*, name: str) -> list[str]:
    """The other names (settings.ATLAS_MODEL_ALIASES) of the model called `name`."""
    return sorted(alias for alias, target in settings.ATLAS_MODEL_ALIASES.items() if target == name)


def registered_model(*, name: str) -> RegisteredModel | None:
    """The model called `name` or aliased by it (the old service's S3 stems: yolov8m, ...), or None."""
    return RegisteredModel.objects.select_related("active_version").filter(name=model_name_for(name)).first()


def versions_newest_first(*, model: RegisteredModel) -> list[ModelVersion]:
    return sort_versions(model.versions.all(), key=lambda v: v.version)


def latest_version(*, model: RegisteredModel) -> ModelVersion | None:
    """The highest registered version by semantic order, retired and failed ones left out."""
    usable = model.versions.exclude(status__in=[ModelVersion.Status.RETIRED, ModelVersion.Status.FAILED])
    ordered = sort_versions(usable, key=lambda v: v.version)
    return ordered[0] if ordered else None


def version_with_bytes(*, model: RegisteredModel, sha256: str) -> ModelVersion | None:
    """The version of `model` whose bytes hash to `sha256`: the active one if it does, else the newest."""
    matches = sort_versions(model.versions.select_related("model").filter(sha256=sha256), key=lambda v: v.version)
    active = [v for v in matches if v.pk == model.active_version_id]
    chosen = active or matches
    return chosen[0] if chosen else None


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


def _row_id(raw: str) -> int | None:
    """An admin URL's object id as a row id, or None when it cannot name one ('abc', a 30-digit number)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def version_at(object_id: str) -> ModelVersion | None:
    """The version an admin URL names, its model and that model's active version joined, or None."""
    pk = _row_id(object_id)
    if pk is None:
        return None
    return ModelVersion.objects.select_related("model", "model__active_version").filter(pk=pk).first()


def model_at(object_id: str) -> RegisteredModel | None:
    """The model an admin URL names, its active version joined, or None."""
    pk = _row_id(object_id)
    if pk is None:
        return None
    return RegisteredModel.objects.select_related("active_version").filter(pk=pk).first()


def last_gate_event(*, version: ModelVersion) -> ActivationEvent | None:
    """The version's last pass through the golden gate: a refusal, or a move that made it active."""
    gated = [
        ActivationEvent.Action.GATE_REFUSED,
        ActivationEvent.Action.PROMOTE,
        ActivationEvent.Action.ROLLBACK,
        ActivationEvent.Action.RELOAD,
        ActivationEvent.Action.ROLLOUT_START,
    ]
    return ActivationEvent.objects.filter(to_version=version, action__in=gated).order_by("-id").first()


def registered_names() -> set[str]:
    return set(RegisteredModel.objects.values_list("name", flat=True))


def models_by_name() -> QuerySet[RegisteredModel]:
    """Every registered model, its active version joined, by name."""
    return RegisteredModel.objects.select_related("active_version").order_by("name")


def models_with_versions() -> list[RegisteredModel]:
    """The models that have at least one registered version."""
    return list(RegisteredModel.objects.filter(versions__isnull=False).distinct().select_related("active_version"))


def versions_served_by(*, host: str, pid: int) -> dict[str, str]:
    """Model name -> version, from the worker reports of one process."""
    reports = WorkerReport.objects.filter(host=host, pid=pid, version__isnull=False)
    return dict(reports.values_list("model__name", "version__version"))


def active_version_of(*, name: str) -> ModelVersion | None:
    """The active version of the model called `name` (its model joined), or None."""
    return (
        ModelVersion.objects.select_related("model").filter(model__name=name, model__active_version_id=F("pk")).first()
    )


def all_active_versions() -> list[ModelVersion]:
    """Every model's active version (its model joined), in one query (a serving worker's preload)."""
    return list(ModelVersion.objects.select_related("model").filter(model__active_version_id=F("pk")))


def is_active(*, version: ModelVersion) -> bool:
    """Whether `version` is still its model's active version, read now (not from the instance)."""
    return RegisteredModel.objects.filter(pk=version.model_id, active_version_id=version.pk).exists()


def version_by_id(*, pk: int) -> ModelVersion:
    """The version with that id, its model joined; ModelVersion.DoesNotExist if there is none."""
    return ModelVersion.objects.select_related("model").get(pk=pk)


def store_metadata(*, version: ModelVersion) -> dict[str, Any]:
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


def worker_summary() -> dict[str, dict[str, Any]]:
    """Per model: how many live workers report it, and how many serve its active version."""
    actives = active_version_ids()
    summary: dict[str, dict[str, Any]] = {name: {"total": 0, "on_active": 0, "errors": []} for name in actives}
    for report in live_worker_reports():
        entry = summary.setdefault(report.model.name, {"total": 0, "on_active": 0, "errors": []})
        entry["total"] += 1
        if report.version_id is not None and report.version_id == actives.get(report.model.name):
            entry["on_active"] += 1
        if report.last_error:
            entry["errors"].append({"host": report.host, "pid": report.pid, "error": report.last_error})
    return summary


def storage_summary() -> dict[str, Any]:
    kind = settings.MODEL_STORAGE_TYPE
    bucket = {"s3": settings.S3_BUCKET, "hf": settings.HF_MODEL_REPO}.get(kind)
    return {"type": kind, "bucket": bucket or None}  # no folder of the server: health is read remotely


def active_models() -> dict[str, dict[str, Any]]:
    """Model name -> its active version, accuracy (from the measured metrics) and when it became active;
    the threat-intelligence service's GET /api/v1/models/active shape."""
    models = RegisteredModel.objects.filter(active_version__isnull=False).select_related("active_version")
    activated = {}
    for event in ActivationEvent.objects.filter(to_version__in=[m.active_version_id for m in models]).order_by("id"):
        activated[event.to_version_id] = event.created_at
    result = {}
    for model in models.order_by("name"):
        version = model.active_version
        assert version is not None
        when = activated.get(version.pk, version.created_at)
        result[model.name] = {
            "version": version.version,
            "accuracy": version.metrics.get("accuracy"),
            "last_updated": when.isoformat() if when else None,
        }
    return result


def activated_at(*, version: ModelVersion) -> datetime | None:
    """When the version last became active (its registration time if it never did)."""
    event = ActivationEvent.objects.filter(to_version=version).order_by("-id").first()
    return event.created_at if event else version.created_at


def device_summary(*, model: RegisteredModel) -> dict[str, int]:
    """How many edge devices report this model, and how many run its active version."""
    reports = DeviceReport.objects.filter(model=model)
    on_active = reports.filter(version_id=model.active_version_id).count() if model.active_version_id else 0
    return {"total": reports.count(), "on_active": on_active}


def active_versions() -> dict[str, str | None]:
    """Model name -> the version string of its active version (None if it has none), in one query."""
    return dict(RegisteredModel.objects.values_list("name", "active_version__version"))


def workers_serving_counts() -> dict[tuple[str, str], int]:
    """(model, version) -> how many live workers report serving it, over every replica."""
    counts: dict[tuple[str, str], int] = {}
    for model, version in live_worker_reports().exclude(version=None).values_list("model__name", "version__version"):
        counts[(model, version)] = counts.get((model, version), 0) + 1
    return counts


def activation_counts() -> dict[tuple[str, str], int]:
    """(model, action) -> how many audit rows of that action the model has."""
    rows = ActivationEvent.objects.values_list("model__name", "action").annotate(n=Count("id")).order_by()
    return {(model, action): n for model, action, n in rows}


def running_rollout(*, model: RegisteredModel) -> Rollout | None:
    return model.rollouts.select_related("candidate", "stable").filter(state=Rollout.State.RUNNING).first()


def last_rollout(*, model: RegisteredModel) -> Rollout | None:
    """The model's running rollout, or else its most recent one."""
    return model.rollouts.select_related("model", "stable", "candidate").first()


def version_named(*, model: RegisteredModel, version: str) -> ModelVersion | None:
    """The model's version with that version string, or None."""
    return model.versions.filter(version=version).first()


def running_rollouts() -> dict[str, Rollout]:
    """Model name -> its running rollout, in one query (the serving workers poll this)."""
    running = Rollout.objects.filter(state=Rollout.State.RUNNING).select_related("model", "candidate", "stable")
    return {rollout.model.name: rollout for rollout in running}


def _summed(rows: list[dict[str, Any]], role: str) -> dict[str, Any]:
    requests = sum(row.get(role, {}).get("requests", 0) for row in rows)
    errors = sum(row.get(role, {}).get("errors", 0) for row in rows)
    width = max((len(row.get(role, {}).get("buckets", [])) for row in rows), default=0)
    buckets = [sum(row.get(role, {}).get("buckets", [0] * width)[i] for row in rows) for i in range(width)]
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": errors / requests if requests else 0.0,
        "p99_seconds": _quantile(buckets, 0.99),
    }


def _quantile(buckets: list[int], q: float) -> float | None:
    """The upper bound of the latency bucket holding the q-th request (ROLLOUT_BUCKETS)."""
    total = sum(buckets)
    if not total:
        return None
    seen = 0
    for bound, count in zip((*ROLLOUT_BUCKETS, float("inf")), buckets, strict=False):
        seen += count
        if seen >= q * total:
            return bound
    return None


# Latency buckets of the rollout counts (seconds); the last bucket is everything above.
ROLLOUT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def rollout_figures(*, rollout: Rollout) -> dict[str, Any]:
    """The rollout's figures: every live worker's counts, summed; and each version's feedback since it began."""
    rows = list(rollout.worker_stats.values_list("stats", flat=True))
    stable, candidate = _summed(rows, "stable"), _summed(rows, "candidate")
    feedback = feedback_counts(version_ids=[rollout.stable_id, rollout.candidate_id], since=rollout.started_at)
    stable["feedback"] = live_accuracy(*feedback.get(rollout.stable_id, (0, 0)))
    candidate["feedback"] = live_accuracy(*feedback.get(rollout.candidate_id, (0, 0)))
    compared = sum(row.get("shadow", {}).get("compared", 0) for row in rows)
    agreed = sum(row.get("shadow", {}).get("agreed", 0) for row in rows)
    ratio = None
    if stable["p99_seconds"] and candidate["p99_seconds"]:
        ratio = candidate["p99_seconds"] / stable["p99_seconds"]
    return {
        "workers": len(rows),
        "stable": {"version": rollout.stable.version, **stable},
        "candidate": {"version": rollout.candidate.version, **candidate},
        "p99_ratio": ratio,
        "shadow": {
            "compared": compared,
            "agreed": agreed,
            "agreement": agreed / compared if compared else None,
            "dropped": sum(row.get("shadow", {}).get("dropped", 0) for row in rows),
            "errors": sum(row.get("shadow", {}).get("errors", 0) for row in rows),
        },
    }


# --- Admin reads (models_registry/admin*.py) ---------------------------------------------------------------


def model_versions_with_same_bytes(*, version: ModelVersion) -> QuerySet[ModelVersion]:
    """Other versions of the same model whose file has the same sha256 as this one's."""
    return (
        ModelVersion.objects.filter(model_id=version.model_id, sha256=version.sha256)
        .exclude(pk=version.pk)
        .order_by("created_at")
    )


# --- Feedback and devices (inference/api/feedback.py, inference/api/sait.py) ------------------------------


def prediction_record(*, request_id: str) -> PredictionRecord | None:
    """The newest recorded answer with that X-Request-ID (its version and model joined), or None."""
    records = PredictionRecord.objects.select_related("version__model").filter(request_id=request_id)
    return records.order_by("-pk").first()


def device_report(*, device_id: str) -> DeviceReport | None:
    """The device's last report (its model, the model's active version and the version it runs joined)."""
    return DeviceReport.objects.select_related("model", "version").filter(device_id=device_id).first()


def feedback_counts(
    *, version_ids: list[int] | None = None, since: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Version id -> (feedback received, answers confirmed), for the versions with feedback."""
    rows = PredictionFeedback.objects.all()
    if version_ids is not None:
        rows = rows.filter(version_id__in=version_ids)
    if since is not None:
        rows = rows.filter(updated_at__gte=since)
    counted = rows.values_list("version_id").annotate(n=Count("id"), ok=Count("id", filter=Q(correct=True)))
    return {version_id: (n, ok) for version_id, n, ok in counted.order_by()}


def feedback_counts_by_name() -> dict[tuple[str, str], tuple[int, int]]:
    """(model, version) -> (feedback received, answers confirmed), in one query (GET /metrics)."""
    rows = PredictionFeedback.objects.values_list("version__model__name", "version__version")
    counted = rows.annotate(n=Count("id"), ok=Count("id", filter=Q(correct=True))).order_by()
    return {(model, version): (n, ok) for model, version, n, ok in counted}


def live_accuracy(received: int, confirmed: int) -> dict[str, Any]:
    """The feedback figures of a version: answers confirmed / feedback received (None without feedback)."""
    return {"received": received, "confirmed": confirmed, "live_accuracy": confirmed / received if received else None}


def similar_feedback_count(*, feedback: PredictionFeedback, same_answer: bool) -> int:
    """Other feedback on the same version for the same answer: the same correction (same_answer False:
    the same wrong answer corrected to the same category) or the same predicted answer (True)."""
    rows = PredictionFeedback.objects.filter(version_id=feedback.version_id, predicted__iexact=feedback.predicted)
    if not same_answer:
        rows = rows.filter(correct=False, actual__iexact=feedback.actual)
    return rows.exclude(pk=feedback.pk).count()


def version_io_signature(*, version_id: int) -> dict[str, Any]:
    """A version's recorded signature ({} when none was recorded)."""
    found: dict[str, Any] | None = (
        ModelVersion.objects.filter(pk=version_id).values_list("io_signature", flat=True).first()
    )
    return found or {}
