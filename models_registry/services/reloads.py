"""`reload-models` (the threat-intelligence service's admin call) as one service, for one model or every model,
reporting every model's outcome (never only the first failure).

What it reloads (the target) is resolved here, as the old service's deployment guide meant it:
- no version (or `force_download` alone): the **active** version, fetched and verified again (`force_download`:
  a fresh copy, not the verified cache's) and reloaded; the pointer never moves, so a rollback is never undone;
- `"latest"`: the bytes now at `models/<name>/latest/` in the store (bookkeeping keeps them equal to the active
  version's after every move; an operator following the guide uploads new weights there, or under an alias:
  `models/yolov8m/latest/`; the newest file wins). Bytes of a known
  version make that version the target (nothing moves if it is the active one); new bytes are registered as
  a new version `latest-<sha256[:12]>` (metadata `source: reload-models`) and promoted through the same gates
  as any promotion. A store without `latest/` (local, hf) is a clear error, never "the highest version";
- any other string: that version, promoted (as before).

In the background (`Prefer: respond-async`) each model's promotion, or reload in place (a job of kind
`reload`), is a job (models_registry/services/promotion_jobs.py) run by the worker, carrying the audit details. The
API view (models_registry/api/admin_views.py) only parses the request and shapes the answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F

from .. import artifact_cache, bookkeeping, selectors, services
from ..models import ActivationEvent, ModelVersion, PromotionJob, RegisteredModel
from ..storage import ArtifactNotFound, StorageError, get_store
from . import promotion_jobs

LATEST = "latest"
SOURCE = "reload-models"


class TargetError(services.RegistryError):
    """The wanted version cannot be found: no such version, no active version, nothing readable at latest/."""


class StoreUnavailable(services.RegistryError):
    """The store could not be read (unreachable, credentials refused): 503."""


class StaleLatest(TargetError):
    """latest/ holds an inactive version's bytes older than the last move: its rewrite has not landed (409)."""


@dataclass(frozen=True)
class Target:
    version: ModelVersion
    move: bool  # False: the active version, reloaded in place; the pointer must not move
    details: dict[str, Any] = field(default_factory=dict)  # for the audit row


@dataclass(frozen=True)
class Outcome:
    """One model's outcome: whether it now serves `version` (or, in the background, its job started)."""

    success: bool
    version: str | None
    message: str
    job: PromotionJob | None = None


def resolve_target(model: RegisteredModel, wanted: str | None, *, actor: str) -> Target:
    """What a reload of `model` asking for `wanted` (None: no version given) reloads. `latest` may register
    the bytes found at latest/ as a new version."""
    if wanted is None:
        if model.active_version is None:
            raise TargetError(f"{model.name} has no active version to reload; name the version to promote.")
        return Target(model.active_version, move=False)
    if wanted == LATEST:
        return _latest_target(model, actor=actor)
    version = model.versions.select_related("model").filter(version=wanted).first()
    if version is None:
        raise TargetError(f"{model.name} has no version {wanted!r}.")
    return Target(version, move=True)


def _latest_target(model: RegisteredModel, *, actor: str) -> Target:
    bookkeeping.wait()  # this process's own latest/ writes (a rollback's, say) land before latest/ is read
    store = get_store(model.active_version.storage if model.active_version else settings.MODEL_STORAGE_TYPE)
    scratch = artifact_cache.cache_dir() / f".reload-latest-{model.name}-{uuid.uuid4().hex[:8]}.part"
    try:
        try:
            artifact = store.latest(model=model.name, aliases=selectors.aliases_of(name=model.name))
            sha256 = store.fetch(artifact, scratch)
        except ArtifactNotFound as exc:
            raise TargetError(
                f"{model.name}: 'latest' is the file in models/{model.name}/latest/, and {str(exc).rstrip('.')}: "
                "name the version to promote (or register the new file with register_model)."
            ) from exc
        except StorageError as exc:  # the store cannot be reached or refuses: not the request's fault
            raise StoreUnavailable(f"{model.name}: latest/ could not be read: {exc}") from exc
        where = f"{store.kind}://{artifact.bucket}/{artifact.location}" if artifact.bucket else artifact.location
        details = {"source": SOURCE, "latest": where, "sha256": sha256}
        known = selectors.version_with_bytes(model=model, sha256=sha256)
        if known is not None and known.pk != model.active_version_id:
            _refuse_stale(model, known, artifact.modified_at, where)
        if known is not None:
            return Target(known, move=known.pk != model.active_version_id, details=details)
        created = services.model_version_register(
            model_name=model.name,
            version=f"latest-{sha256[:12]}",
            source=scratch,
            filename=Path(artifact.location).name,
            storage=store.kind,
            metadata={"source": SOURCE, "copied_from": where},
            notes=f"Registered by reload-models from the new bytes at {where}.",
            actor=actor,
        )
        return Target(created, move=True, details={**details, "registered": True})
    finally:
        scratch.unlink(missing_ok=True)


def _refuse_stale(model: RegisteredModel, known: ModelVersion, modified_at: datetime | None, where: str) -> None:
    """latest/ is rewritten after each move by the process that moved the pointer, asynchronously: bytes of an
    inactive version written before the last move (S3's LastModified, whole seconds) are that copy not yet
    landed (or failed), not an operator's upload; promoting them would undo the move (a rollback)."""
    moves = ActivationEvent.objects.filter(model=model, to_version_id=model.active_version_id).exclude(
        from_version_id=F("to_version_id")  # a reload moved nothing
    )
    last = moves.order_by("-created_at").values_list("created_at", flat=True)
    if modified_at is None or not last or modified_at >= last[0].replace(microsecond=0):
        return
    raise StaleLatest(
        f"{model.name}: {where} still holds the bytes of {known.version} (written "
        f"{modified_at.isoformat(timespec='seconds')}), older than the last move of the active version "
        f"({last[0].isoformat(timespec='seconds')}): latest/ is not yet rewritten, so it is not promoted. Retry "
        "in a moment, upload the new file again, or name the version."
    )


def reload_target(target: Target, *, wanted: str | None, force: bool, background: bool, actor: str) -> Outcome:
    version = target.version
    reason = f"reload-models ({wanted or 'active version'})"
    if background:  # a job in the worker: a reload in place, or a promotion (the audit details travel with it)
        kind = PromotionJob.Kind.PROMOTE if target.move else PromotionJob.Kind.RELOAD
        job = promotion_jobs.promotion_job_start(
            version=version, actor=actor, reason=reason, force_download=force, kind=kind, details=target.details
        )
        return Outcome(True, version.version, "promotion started" if target.move else "reload started", job)
    if not target.move:
        try:
            services.model_version_reload(
                version=version, actor=actor, reason=reason, force_download=force, details=target.details
            )
        except services.RegistryError as exc:
            return Outcome(False, version.version, str(exc))
        return Outcome(True, version.version, f"reloaded {version.version}, the active version (sha256 verified)")
    try:
        services.model_version_promote(
            version=version, actor=actor, reason=reason, force_download=force, details=target.details
        )
    except services.RegistryError as exc:
        return Outcome(False, version.version, str(exc))
    return Outcome(True, version.version, f"now serves {version.version}")


def reload_models(
    models: list[RegisteredModel], *, wanted: str | None, force: bool, background: bool, actor: str
) -> dict[str, Outcome]:
    """Every model tried, in order; a model whose target cannot be found is a failure of its own, except that
    a reload of the active versions passes over a model with none (nothing is served, nothing to reload)."""
    results: dict[str, Outcome] = {}
    for model in models:
        if wanted is None and model.active_version is None:
            results[model.name] = Outcome(True, None, "no active version: nothing to reload")
            continue
        try:
            target = resolve_target(model, wanted, actor=actor)
        except services.RegistryError as exc:
            results[model.name] = Outcome(False, None, str(exc))
            continue
        results[model.name] = reload_target(target, wanted=wanted, force=force, background=background, actor=actor)
    return results
