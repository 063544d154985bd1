"""Recording a new version: upload its bytes to a store, then write its row (used by services.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from .errors import RegistryError
from .models import ModelVersion, RegisteredModel
from .storage import StorageError, StoredArtifact, get_store
from .storage.base import Progress, sha256_of_file


def upload_and_record(
    *,
    model: RegisteredModel,
    version: str,
    source: Path,
    filename: str,
    storage: str,
    fmt: str,
    metrics: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    notes: str,
    actor: str,
    progress: Progress,
) -> ModelVersion:
    sha256, size = sha256_of_file(source)
    try:
        stored = get_store(storage).put(
            model=model.name,
            version=version,
            filename=filename,
            source=source,
            progress=progress,
        )
    except StorageError as exc:
        raise RegistryError(f"Could not store {filename} in {storage}: {exc}") from exc
    return record_version(
        model=model,
        version=version,
        stored=stored,
        sha256=sha256,
        size=size,
        fmt=fmt,
        metrics=metrics,
        metadata=metadata,
        notes=notes,
        actor=actor,
    )


def record_version(
    *,
    model: RegisteredModel,
    version: str,
    stored: StoredArtifact,
    sha256: str,
    size: int,
    fmt: str,
    metrics: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    notes: str,
    actor: str,
) -> ModelVersion:
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                model=model,
                version=version,
                storage=stored.storage,
                location=stored.location,
                bucket=stored.bucket,
                revision=stored.revision,
                sha256=sha256,
                size_bytes=size,
                format=fmt,
                metrics=metrics or {},
                metadata=metadata or {},
                notes=notes,
                created_by=actor,
            )
    except IntegrityError:
        raise RegistryError(f"{model.name} already has a version {version!r}; versions are immutable.") from None
