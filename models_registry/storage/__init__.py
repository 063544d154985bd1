"""Artifact stores by name, resolved like runtimes: settings.ATLAS_STORES maps a name to a class path
(`import_string`), and `get_store(kind)` builds that class once per process with no arguments. A new
store is one module here implementing `ArtifactStore` (base.py) and one line in ATLAS_STORES; its name is
the `storage` value recorded on each ModelVersion."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import overload

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

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


class _StoreNames(Sequence[str]):
    """The names in settings.ATLAS_STORES, read each time it is used (never at import time), so that
    `kind in STORAGE_KINDS`, `choices=STORAGE_KINDS` and `", ".join(STORAGE_KINDS)` follow the setting."""

    def _names(self) -> tuple[str, ...]:
        return tuple(settings.ATLAS_STORES)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return repr(self._names())


STORAGE_KINDS: Sequence[str] = _StoreNames()

_stores: dict[str, ArtifactStore] = {}
_STORE_SETTINGS = {"ATLAS_STORES", "MODEL_STORAGE_TYPE", "MODEL_STORE_DIR", "HUGGINGFACE_TOKEN"}


def get_store(kind: str | None = None) -> ArtifactStore:
    """The store of that kind, built once per process from settings (a boto3 client is costly to build
    and safe to share between threads)."""
    kind = (kind or settings.MODEL_STORAGE_TYPE).lower()
    store = _stores.get(kind)
    if store is None:
        store = _stores[kind] = _build_store(kind)
    return store


def _build_store(kind: str) -> ArtifactStore:
    try:
        dotted = settings.ATLAS_STORES[kind]
    except KeyError:
        raise StorageError(f"Unknown storage {kind!r}; use one of {', '.join(STORAGE_KINDS)}.") from None
    factory: Callable[[], ArtifactStore] = import_string(dotted)
    return factory()


@receiver(setting_changed)
def _forget_stores(*, setting: str, **kwargs: object) -> None:
    """Settings changed (tests): stores are rebuilt from the new values."""
    if setting in _STORE_SETTINGS or setting.startswith(("S3_", "HF_")):
        _stores.clear()
