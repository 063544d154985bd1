"""Artifact stores by kind. `get_store(kind)` builds one configured from settings."""

from __future__ import annotations

from django.conf import settings

from .base import ArtifactNotFound, ArtifactStore, StorageError, StoredArtifact

__all__ = [
    "STORAGE_KINDS",
    "ArtifactNotFound",
    "ArtifactStore",
    "StorageError",
    "StoredArtifact",
    "get_store",
]

STORAGE_KINDS = ("local", "s3", "hf")


def get_store(kind: str | None = None) -> ArtifactStore:
    kind = (kind or settings.MODEL_STORAGE_TYPE).lower()
    if kind == "local":
        from .local import LocalStore

        return LocalStore()
    if kind == "s3":
        from .s3 import S3Store

        return S3Store()
    if kind == "hf":
        from .hf import HubStore

        return HubStore()
    raise StorageError(f"Unknown storage {kind!r}; use one of {', '.join(STORAGE_KINDS)}.")
