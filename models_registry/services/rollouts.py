"""Rollouts: a candidate version served beside the active one under guardrails, and the decisions taken
on it. Every write here is audited in the activation history, with the figures it was taken on.

- `rollout_start` prepares the candidate like a promotion (fetch, verify sha256, trust, trial load,
  warm-up, golden set) in the calling process, then records the rollout and its start row in one
  transaction and wakes every worker, which loads the candidate beside the stable version.
- Each serving worker counts, per running rollout, the requests each version answered, their 5xx and
  their latency (canary), or the shadow comparisons and agreements (shadow), and flushes those counts to
  RolloutWorkerStats from its listener thread. A rollout's figures are their sum: every worker of every
  replica counts.
- `rollout_evaluate` (called by every worker's listener, decided by the one that claims the row) trips a
  guardrail — candidate error rate, candidate/stable p99 ratio, shadow agreement, the candidate's live
  accuracy from feedback — and rolls back, or
  promotes the candidate after a clean bake through the ordinary audited promotion.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import broadcast, selectors, services
from ..errors import PromotionError, RegistryError
from ..models import ActivationEvent, ModelVersion, RegisteredModel, Rollout, RolloutWorkerStats

logger = logging.getLogger(__name__)


def _audit(
    *, rollout: Rollout, action: str, actor: str, reason: str, figures: dict[str, Any], to_version: ModelVersion | None
) -> ActivationEvent:
    return ActivationEvent.objects.create(
        model_id=rollout.model_id,
        from_version_id=rollout.stable_id,
        to_version=to_version,
        action=action,
        actor=actor[:150] or "unknown",
        reason=reason,
        details={"rollout": rollout.pk, "mode": rollout.mode, "percent": rollout.percent, **figures},
    )


def _wake_workers(model: RegisteredModel) -> None:
    broadcast.notify_activation(model_name=model.name, version_id=model.active_version_id or 0)


def rollout_start(
    *,
    model: RegisteredModel,
    candidate: ModelVersion,
    mode: str,
    actor: str,
    percent: float = 10.0,
    bake_seconds: int = 600,
    min_requests: int = 20,
    max_error_rate: float | None = None,
    max_p99_ratio: float | None = None,
    min_agreement: float | None = None,
    min_live_accuracy: float | None = None,
    route_header: str = "X-Atlas-Route-Key",
    reason: str = "",
) -> Rollout:
    """Start serving `candidate` beside the active version (canary: `percent` of requests; shadow: a copy)."""
    if mode not in Rollout.Mode.values:
        raise RegistryError(f"Mode {mode!r} is not a rollout mode; use canary or shadow.")
    if not 0 < percent <= 100:
        raise RegistryError(f"percent is {percent:g}; a canary answers between 0 (excluded) and 100 percent.")
    shares = (("max_error_rate", max_error_rate), ("min_agreement", min_agreement))
    for name, value in (*shares, ("min_live_accuracy", min_live_accuracy)):
        if value is not None and not 0 <= value <= 1:
            raise RegistryError(f"{name} is {value:g}; it is a share between 0 and 1.")
    if max_p99_ratio is not None and max_p99_ratio <= 0:
        raise RegistryError(f"max_p99_ratio is {max_p99_ratio:g}; it must be above 0.")
    if candidate.model_id != model.pk:
        raise RegistryError(f"{candidate} is not a version of {model.name}.")
    if model.active_version_id is None:
        raise RegistryError(f"{model.name} has no active version to roll out against; promote one first.")
    if candidate.pk == model.active_version_id:
        raise RegistryError(f"{candidate} is already the active version.")
    running = selectors.running_rollout(model=model)
    if running is not None:
        raise RegistryError(
            f"{model.name} already has a running rollout of {running.candidate.version}; abort it first."
        )
    services.model_version_signature_gate(version=candidate, actor=actor, force=False)  # its clients keep working
    services.model_version_prepare(version=candidate, actor=actor)  # verified, trusted, loaded, golden set met
    try:
        with transaction.atomic():
            locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
            if locked.active_version_id != model.active_version_id:
                raise PromotionError(f"The active version of {model.name} changed meanwhile; look again and retry.")
            rollout = Rollout.objects.create(
                model=locked,
                stable_id=locked.active_version_id,
                candidate=candidate,
                mode=mode,
                percent=percent if mode == Rollout.Mode.CANARY else 0.0,
                bake_seconds=bake_seconds,
                min_requests=min_requests,
                max_error_rate=max_error_rate,
                max_p99_ratio=max_p99_ratio,
                min_agreement=min_agreement,
                min_live_accuracy=min_live_accuracy,
                route_header=route_header,
                started_by=actor[:150] or "unknown",
                reason=reason,
            )
            guardrails = {
                "bake_seconds": bake_seconds,
                "min_requests": min_requests,
                "max_error_rate": max_error_rate,
                "max_p99_ratio": max_p99_ratio,
                "min_agreement": min_agreement,
                "min_live_accuracy": min_live_accuracy,
            }
            _audit(
                rollout=rollout,
                action=ActivationEvent.Action.ROLLOUT_START,
                actor=actor,
                reason=reason or f"{mode} of {candidate.version}",
                figures={"guardrails": guardrails},
                to_version=candidate,
            )
            _wake_workers(locked)
    except IntegrityError:  # the partial unique constraint: another start won the race
        raise RegistryError(f"{model.name} already has a running rollout; abort it first.") from None
    logger.info("%s: %s rollout of %s started by %s", model.name, mode, candidate.version, actor)
    return rollout


def rollout_set_percent(*, rollout: Rollout, percent: float, actor: str, reason: str = "") -> Rollout:
    """A canary step: change the share of requests the candidate answers."""
    if rollout.mode != Rollout.Mode.CANARY:
        raise RegistryError("Only a canary has a percent.")
    if not 0 < percent <= 100:
        raise RegistryError(f"percent is {percent:g}; use more than 0 and at most 100.")
    with transaction.atomic():
        locked = Rollout.objects.select_for_update().get(pk=rollout.pk)
        if locked.state != Rollout.State.RUNNING:
            raise RegistryError(f"The rollout is {locked.state}, not running.")
        before = locked.percent
        locked.percent = percent
        locked.save(update_fields=["percent"])
        _audit(
            rollout=locked,
            action=ActivationEvent.Action.ROLLOUT_STEP,
            actor=actor,
            reason=reason or f"percent {before:g} -> {percent:g}",
            figures={"from_percent": before, "figures": locked.figures},
            to_version=locked.candidate,
        )
        _wake_workers(locked.model)
    return locked


def rollout_abort(
    *, rollout: Rollout, actor: str, reason: str = "", automatic: bool = False, figures: dict[str, Any] | None = None
) -> Rollout:
    """Stop a running rollout: every worker drops the candidate and serves the stable version only."""
    with transaction.atomic():
        locked = Rollout.objects.select_for_update().select_related("model").get(pk=rollout.pk)
        if locked.state != Rollout.State.RUNNING:
            raise RegistryError(f"The rollout is {locked.state}, not running.")
        locked.state = Rollout.State.ROLLED_BACK if automatic else Rollout.State.ABORTED
        locked.ended_at = timezone.now()
        locked.reason = reason
        if figures is not None:
            locked.figures = figures
        locked.save(update_fields=["state", "ended_at", "reason", "figures"])
        _audit(
            rollout=locked,
            action=ActivationEvent.Action.ROLLOUT_ROLLBACK if automatic else ActivationEvent.Action.ROLLOUT_ABORT,
            actor=actor,
            reason=reason or "aborted",
            figures={"figures": locked.figures},
            to_version=None,
        )
        _wake_workers(locked.model)
    logger.warning("%s: rollout of %s %s: %s", locked.model.name, locked.candidate.version, locked.state, reason)
    return locked


def rollout_stats_save(*, host: str, pid: int, stats: dict[int, dict[str, Any]]) -> None:
    """One worker's cumulative counts per running rollout (its listener calls this every tick)."""
    for rollout_id, counts in stats.items():
        RolloutWorkerStats.objects.update_or_create(
            rollout_id=rollout_id, host=host, pid=pid, defaults={"stats": counts}
        )


def decide(rollout: Rollout, figures: dict[str, Any], *, now: Any) -> tuple[str, str] | None:
    """("rollback", why), ("promote", why) or None (keep baking), from the summed figures."""
    candidate, stable, shadow = figures["candidate"], figures["stable"], figures["shadow"]
    if rollout.mode == Rollout.Mode.CANARY:
        feedback = candidate.get("feedback") or {}
        if (
            rollout.min_live_accuracy is not None
            and feedback.get("received", 0) >= rollout.min_requests
            and feedback["live_accuracy"] < rollout.min_live_accuracy
        ):
            return "rollback", (
                f"candidate live accuracy {feedback['live_accuracy']:.3f} over {feedback['received']} feedback is "
                f"below min_live_accuracy {rollout.min_live_accuracy:g}"
            )
        seen = candidate["requests"]
        if seen >= rollout.min_requests:
            if rollout.max_error_rate is not None and candidate["error_rate"] > rollout.max_error_rate:
                return "rollback", (
                    f"candidate error rate {candidate['error_rate']:.3f} over {seen} requests is above "
                    f"max_error_rate {rollout.max_error_rate:g}"
                )
            ratio = figures.get("p99_ratio")
            if (
                rollout.max_p99_ratio is not None
                and ratio is not None
                and stable["requests"] >= rollout.min_requests
                and ratio > rollout.max_p99_ratio
            ):
                return (
                    "rollback",
                    f"candidate p99 is {ratio:.2f}x the stable p99; max_p99_ratio is {rollout.max_p99_ratio:g}",
                )
    else:
        seen = shadow["compared"]
        if seen >= rollout.min_requests:
            if rollout.min_agreement is not None and shadow["agreement"] < rollout.min_agreement:
                return "rollback", (
                    f"shadow agreement {shadow['agreement']:.3f} over {seen} comparisons is below "
                    f"min_agreement {rollout.min_agreement:g}"
                )
            error_rate = shadow["errors"] / max(1, shadow["errors"] + seen)
            if rollout.max_error_rate is not None and error_rate > rollout.max_error_rate:
                return (
                    "rollback",
                    f"shadow error rate {error_rate:.3f} is above max_error_rate {rollout.max_error_rate:g}",
                )
    if seen >= rollout.min_requests and now - rollout.started_at >= timedelta(seconds=rollout.bake_seconds):
        counted = "requests" if rollout.mode == Rollout.Mode.CANARY else "comparisons"
        return "promote", f"clean bake of {rollout.bake_seconds} s over {seen} {counted}"
    return None


def rollout_evaluate(*, rollout_id: int) -> str | None:
    """Evaluate a running rollout on the figures of every worker; act on a decision. Called by every
    worker's listener; the worker that claims the rollout row acts, the others skip it."""
    with transaction.atomic():
        rollout = (
            Rollout.objects.select_for_update(skip_locked=True)
            .select_related("model", "candidate", "stable")
            .filter(pk=rollout_id, state=Rollout.State.RUNNING)
            .first()
        )
        if rollout is None:
            return None
        figures = selectors.rollout_figures(rollout=rollout)
        rollout.figures = figures
        rollout.save(update_fields=["figures"])
        decision = decide(rollout, figures, now=timezone.now())
        if decision is None:
            return None
        verdict, why = decision
        if verdict == "rollback":
            rollout_abort(rollout=rollout, actor="atlas", reason=why, automatic=True, figures=figures)
            return "rollback"
        Rollout.objects.filter(pk=rollout.pk).update(state=Rollout.State.PROMOTING)
    try:  # outside the row lock: the promotion verifies and trial-loads the candidate again
        services.model_version_promote(
            version=rollout.candidate,
            actor="atlas",
            reason=f"rollout {rollout.pk} ({rollout.mode}, started by {rollout.started_by}): {why}",
            details={"rollout": rollout.pk, "figures": figures},
        )
    except RegistryError as exc:
        Rollout.objects.filter(pk=rollout.pk).update(
            state=Rollout.State.ABORTED, ended_at=timezone.now(), reason=f"promotion refused: {exc}"
        )
        _audit(
            rollout=rollout,
            action=ActivationEvent.Action.ROLLOUT_ABORT,
            actor="atlas",
            reason=f"promotion after the bake refused: {exc}",
            figures={"figures": figures},
            to_version=None,
        )
        return "aborted"
    Rollout.objects.filter(pk=rollout.pk).update(state=Rollout.State.PROMOTED, ended_at=timezone.now(), reason=why)
    return "promote"
