"""Bookkeeping for the old service's clients: each model's metadata.json and latest/ copy in its store.

It can take seconds on a big file, so it runs after the promotion has answered, on one thread per process
(writes leave in promotion order). Across processes and replicas the order is not guaranteed, so every
write is guarded by the registry: a version is written only while it is still the active one, and after
writing the pointer is read again; if another promotion committed meanwhile (whose own write may have
landed first), the version active now is written instead. An older version therefore never stays last.

A management command waits for its writes (`wait()`) before it exits: the store's client cannot schedule
work once the interpreter shuts down ("cannot schedule new futures after interpreter shutdown").
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from . import selectors
from .models import ModelVersion, RegisteredModel
from .storage import StorageError, StoredArtifact, get_store

logger = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-store-metadata")
MAX_ROUNDS = 3


def submit(*, model_name: str, version_id: int) -> None:
    _executor.submit(write_if_active, model_name=model_name, version_id=version_id)


def wait(timeout: float = 600) -> None:
    """Wait until the writes submitted so far are done (management commands, tests)."""
    _executor.submit(lambda: None).result(timeout=timeout)


def _active_version(model_name: str) -> ModelVersion | None:
    model = RegisteredModel.objects.filter(name=model_name).select_related("active_version__model").first()
    return model.active_version if model else None


def write_if_active(*, model_name: str, version_id: int) -> None:
    try:
        wanted: int | None = version_id
        for _ in range(MAX_ROUNDS):
            active = _active_version(model_name)
            if active is None or active.pk != wanted:
                logger.info("metadata.json of %s: version %s is no longer active; not written", model_name, wanted)
                return
            _write(active)
            after = _active_version(model_name)
            if after is None or after.pk == active.pk:
                return
            wanted = after.pk  # a newer promotion committed while we wrote: make sure it is the last word
    except Exception:  # never lose the thread to one failure
        logger.exception("writing metadata.json for %s failed", model_name)
    finally:
        connection.close()  # this thread's own connection


def _write(version: ModelVersion) -> None:
    latest = StoredArtifact(
        storage=version.storage, location=version.location, bucket=version.bucket, revision=version.revision
    )
    try:
        get_store(version.storage).write_model_metadata(
            model=version.model.name, metadata=selectors.store_metadata(version=version), latest=latest
        )
    except StorageError as exc:
        logger.warning("could not write metadata.json for %s: %s", version, exc)
