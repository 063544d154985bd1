"""Retiring a version: out of use for good (never active again, never a rollback or `latest` target)."""

from __future__ import annotations

from django.db import transaction

from ..errors import RegistryError
from ..models import ActivationEvent, ModelVersion, RegisteredModel


def model_version_retire(*, version: ModelVersion, actor: str, reason: str = "") -> ModelVersion:
    """Take a version out of use for good; the active version cannot be retired."""
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=version.model_id)
        if model.active_version_id == version.pk:
            raise RegistryError(f"{version} is active; promote another version before retiring it.")
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.RETIRED)
        ActivationEvent.objects.create(
            model=model,
            from_version=version,
            to_version=None,
            action=ActivationEvent.Action.RETIRE,
            actor=actor[:150] or "unknown",
            reason=reason,
        )
    version.status = ModelVersion.Status.RETIRED
    return version
