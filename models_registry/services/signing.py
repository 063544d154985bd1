"""Vouching for a version's artifact: trusted by a person (audited) or signed by a trusted key."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import trust
from ..errors import RegistryError
from ..models import ActivationEvent, ModelVersion


def model_version_trust(*, version: ModelVersion, actor: str, reason: str = "") -> ActivationEvent:
    """Vouch for a version's artifact: a format that runs code on load may now load. The caller checks
    the `trust_artifact` permission; the decision is an audit row."""
    with transaction.atomic():
        ModelVersion.objects.filter(pk=version.pk).update(trusted_by=actor[:150], trusted_at=timezone.now())
        event = ActivationEvent.objects.create(
            model=version.model,
            to_version=version,
            action=ActivationEvent.Action.TRUST,
            actor=actor[:150] or "unknown",
            reason=reason or "marked trusted",
        )
    version.refresh_from_db(fields=["trusted_by", "trusted_at"])
    return event


def model_version_sign(*, version: ModelVersion, signature: str, actor: str) -> ActivationEvent:
    """Attach an ed25519 signature of the version's sha256; refused unless a key of ATLAS_TRUSTED_KEYS
    made it. The audit row names the key."""
    key = trust.signing_key(sha256=version.sha256, signature=signature.strip())
    if key is None:
        raise RegistryError(
            f"The signature does not verify against {version}'s sha256 with any key in ATLAS_TRUSTED_KEYS."
        )
    with transaction.atomic():
        ModelVersion.objects.filter(pk=version.pk).update(signature=signature.strip())
        event = ActivationEvent.objects.create(
            model=version.model,
            to_version=version,
            action=ActivationEvent.Action.TRUST,
            actor=actor[:150] or "unknown",
            reason=f"ed25519 signature by trusted key {key!r}",
        )
    version.refresh_from_db(fields=["signature"])
    return event
