"""The active pointer's moves: promote and roll back.

The version is prepared (loading.model_version_prepare) before any lock is taken; then one durable
transaction takes the model's row lock, compares and sets the pointer, writes the audit row and NOTIFYs;
on commit the `model_activated` signal reloads this process and the store's bookkeeping is queued.
`durable=True`: the move is never folded into a caller's transaction, whose rollback would undo an
activation every worker was already told about.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from .. import bookkeeping, broadcast, selectors, signatures
from ..errors import PromotionError, RegistryError
from ..models import ActivationEvent, ModelVersion, RegisteredModel
from ..signals import model_activated
from ..storage.base import Progress
from .loading import model_version_prepare

logger = logging.getLogger("models_registry.services")


def model_version_promote(
    *,
    version: ModelVersion,
    actor: str,
    reason: str = "",
    force_download: bool = False,
    details: dict[str, Any] | None = None,
    progress: Progress = None,
    force_signature: bool = False,
) -> ActivationEvent:
    """Make `version` the active version of its model. Promoting the active version reloads it.
    `progress` counts the bytes fetched (promotion_jobs reports them). A version whose signature is
    incompatible with the active one's is refused (audited) unless `force_signature`."""
    model_version_signature_gate(version=version, actor=actor, force=force_signature)
    predictor = model_version_prepare(version=version, force_download=force_download, actor=actor, progress=progress)
    return _move_pointer(
        version=version,
        actor=actor,
        reason=reason,
        action=ActivationEvent.Action.PROMOTE,
        predictor=predictor,
        force_download=force_download,
        details=details,
    )


def model_version_reload(
    *,
    version: ModelVersion,
    actor: str,
    reason: str = "",
    force_download: bool = False,
    details: dict[str, Any] | None = None,
) -> ActivationEvent:
    """Fetch, verify, trial-load and warm up the active `version` again (`force_download`: a fresh copy from
    the store, not the verified cache's) and reload it in this process. The pointer never moves: when
    another version became active meanwhile (a rollback), PromotionError and nothing changes."""
    if not RegisteredModel.objects.filter(pk=version.model_id, active_version_id=version.pk).exists():
        raise PromotionError(f"{version} is no longer the active version; nothing was reloaded.")
    predictor = model_version_prepare(version=version, force_download=force_download, actor=actor)
    return _move_pointer(
        version=version,
        actor=actor,
        reason=reason,
        action=ActivationEvent.Action.RELOAD,
        predictor=predictor,
        force_download=force_download,
        expected_from=version.pk,
        details=details,
    )


def model_version_signature_gate(*, version: ModelVersion, actor: str, force: bool) -> None:
    """Refuse a version whose inputs or outputs would break the active version's clients (audited)."""
    active = selectors.active_version_of(name=version.model.name)
    if active is None or active.pk == version.pk:
        return
    problems = signatures.incompatibilities(active.io_signature, version.io_signature)
    if not problems or force:
        if problems:
            logger.warning("%s: signature change forced by %s: %s", version, actor, "; ".join(problems))
        return
    ActivationEvent.objects.create(
        model_id=version.model_id,
        from_version=active,
        to_version=version,
        action=ActivationEvent.Action.GATE_REFUSED,
        actor="atlas",
        reason=f"signature gate, for {actor or 'unknown'}: {'; '.join(problems)}",
        details={"gate": "signature", "differences": problems},
    )
    raise PromotionError(
        f"{version}'s signature is incompatible with the active {active.version}: {'; '.join(problems)} "
        "(force the promotion to accept it)."
    )


def model_rollback(*, model: RegisteredModel, actor: str, reason: str = "") -> ActivationEvent:
    """Move the pointer back to the version that was active before the current one."""
    expected = model.active_version_id
    target = selectors.rollback_target(model=model)
    if target is None:
        raise RegistryError(f"{model.name} has no earlier active version to roll back to.")
    predictor = model_version_prepare(version=target, actor=actor)
    return _move_pointer(
        version=target,
        actor=actor,
        reason=reason,
        action=ActivationEvent.Action.ROLLBACK,
        predictor=predictor,
        expected_from=expected,
    )


_UNSET = object()


def _move_pointer(
    *,
    version: ModelVersion,
    actor: str,
    reason: str,
    action: str,
    predictor: Any,
    force_download: bool = False,
    expected_from: Any = _UNSET,
    details: dict[str, Any] | None = None,
) -> ActivationEvent:
    with transaction.atomic(durable=True):
        model = RegisteredModel.objects.select_for_update().get(pk=version.model_id)
        from_id = model.active_version_id
        # Retiring takes the same row lock: a retire that committed during our trial load is seen here.
        if ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.RETIRED).exists():
            raise PromotionError(f"{version} was retired meanwhile; it cannot become active.")
        if expected_from is not _UNSET and from_id != expected_from:
            raise PromotionError(f"The active version of {model.name} changed meanwhile; look again and retry.")
        if from_id == version.pk:
            action = ActivationEvent.Action.RELOAD
        # Compare-and-set: under the row lock this always matches; it guards the invariant regardless.
        moved = RegisteredModel.objects.filter(pk=model.pk, active_version_id=from_id).update(active_version=version)
        if moved != 1:
            raise PromotionError(f"The active version of {model.name} changed meanwhile; retry.")
        if from_id and from_id != version.pk:
            ModelVersion.objects.filter(pk=from_id).update(status=ModelVersion.Status.INACTIVE)
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE, status_detail="")
        event = ActivationEvent.objects.create(
            model=model,
            from_version_id=from_id,
            to_version=version,
            action=action,
            actor=actor[:150] or "unknown",
            reason=reason,
            details=details or {},
        )
        broadcast.notify_activation(model_name=model.name, version_id=version.pk)
        version.status = ModelVersion.Status.ACTIVE
        transaction.on_commit(
            lambda: _after_activation(
                model_name=model.name,
                version=version,
                action=action,
                predictor=predictor,
                force_download=force_download,
            )
        )
    # The log names versions, not database ids.
    from_label = ModelVersion.objects.filter(pk=from_id).values_list("version", flat=True).first() if from_id else None
    logger.info("%s: %s -> %s (%s by %s)", model.name, from_label or "none", version.version, action, actor)
    return event


def _after_activation(
    *, model_name: str, version: ModelVersion, action: str, predictor: Any, force_download: bool
) -> None:
    model_activated.send(
        sender=RegisteredModel,
        model_name=model_name,
        version=version,
        action=action,
        predictor=predictor,
        force_download=force_download,
    )
    # metadata.json and latest/ for the old service's clients, after the caller has its answer, and
    # only while this version is still active (models_registry/bookkeeping.py).
    bookkeeping.submit(model_name=model_name, version_id=version.pk)


def store_bookkeeping_wait(timeout: float = 600) -> None:
    """Wait until the metadata writes submitted so far are done (tests, management commands)."""
    bookkeeping.wait(timeout=timeout)
