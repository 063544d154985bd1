"""Artifact stores by kind. `get_store(kind)` builds one configured from settings."""

from __future__ import annotations

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .base import ArtifactNotFound, ArtifactStore, StorageError, Store, StoredArtifact

__all__ = [
    "STORAGE_KINDS",
    "ArtifactNotFound",
    "ArtifactStore",
    "StorageError",
    "Store",
    "StoredArtifact",
    "get_store",
]

STORAGE_KINDS = ("local", "s3", "hf")


_stores: dict[str, ArtifactStore] = {}
_STORE_SETTINGS = {"MODEL_STORAGE_TYPE", "MODEL_STORE_DIR", "HUGGINGFACE_TOKEN"}


def get_store(kind: str | None = None) -> ArtifactStore:
    """The store of that kind, built once per process from settings (a boto3 client is costly to build
    and safe to share between threads)."""
    kind = (kind or settings.MODEL_STORAGE_TYPE).lower()
    store = _stores.get(kind)
    if store is None:
        store = _stores[kind] = _build_store(kind)
    return store


def _build_store(kind: str) -> ArtifactStore:
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


@receiver(setting_changed)
def _forget_stores(*, setting: str, **kwargs: object) -> None:
    """Settings changed (tests): stores are rebuilt from the new values."""
    if setting in _STORE_SETTINGS or setting.startswith(("S3_", "HF_")):
        _stores.clear()
