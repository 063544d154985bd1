"""`reload-models` (the threat-intelligence service's admin call) as one service: make the wanted version of one
model, or of every model, active through the audited promotion, and report every model's outcome (never only
the first failure). In the background each model's promotion is a job (models_registry/promotion_jobs.py).

The API view (models_registry/api/admin_views.py) only parses the request and shapes the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import promotion_jobs, selectors, services
from .models import ModelVersion, PromotionJob, RegisteredModel


@dataclass(frozen=True)
class Outcome:
    """One model's outcome: whether it now serves `version` (or, in the background, its job started)."""

    success: bool
    version: str | None
    message: str
    job: PromotionJob | None = None


def resolve_version(model: RegisteredModel, wanted: str) -> ModelVersion | None:
    """`latest` (the newest servable version) or the version named exactly."""
    if wanted == "latest":
        return selectors.latest_version(model=model)
    return model.versions.select_related("model").filter(version=wanted).first()


def reload_version(version: ModelVersion, *, wanted: str, force: bool, background: bool, actor: str) -> Outcome:
    reason = f"reload-models ({wanted})"
    if background:
        job = promotion_jobs.promotion_job_start(version=version, actor=actor, reason=reason, force_download=force)
        return Outcome(True, version.version, "promotion started", job)
    try:
        services.model_version_promote(version=version, actor=actor, reason=reason, force_download=force)
    except services.RegistryError as exc:
        return Outcome(False, version.version, str(exc))
    return Outcome(True, version.version, f"now serves {version.version}")


def reload_models(
    models: list[RegisteredModel], *, wanted: str, force: bool, background: bool, actor: str
) -> dict[str, Outcome]:
    """Every model tried, in order; a model without the wanted version is a failure of its own."""
    results: dict[str, Outcome] = {}
    for model in models:
        version = resolve_version(model, wanted)
        if version is None:
            results[model.name] = Outcome(False, None, f"no version {wanted!r}")
        else:
            results[model.name] = reload_version(
                version, wanted=wanted, force=force, background=background, actor=actor
            )
    return results
