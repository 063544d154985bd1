"""A version's bytes into this process: fetch, verify sha256, trial-load, warm up, run the golden set.

Only the stored bytes' fault marks a version failed (a sha256 mismatch, a load error of verified bytes);
the machine's errors (TRANSIENT_ERRORS) never do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import artifact_cache, golden, trust
from ..artifact_cache import ChecksumMismatch
from ..errors import PromotionError, PromotionTimeout, RegistryError
from ..models import ActivationEvent, ModelVersion
from ..redaction import without_paths
from ..runtimes import load_and_warm
from ..storage import StorageError, StoredArtifact
from ..storage.base import Progress, StoreTimeout

logger = logging.getLogger("models_registry.services")


def version_artifact(version: ModelVersion) -> StoredArtifact:
    return StoredArtifact(
        storage=version.storage,
        location=version.location,
        bucket=version.bucket,
        revision=version.revision,
    )


@contextmanager
def model_version_file(*, version: ModelVersion, force: bool = False, progress: Progress = None) -> Iterator[Path]:
    """A local path to the version's bytes, verified against its sha256; load it inside the block
    (the artifact cache keeps it from being evicted meanwhile)."""
    with artifact_cache.open_verified(
        artifact=version_artifact(version),
        sha256=version.sha256,
        size=version.size_bytes,
        fmt=version.format,
        force=force,
        progress=progress,
    ) as path:
        yield path


# Errors of the machine, not of the bytes: they never mark a version failed.
TRANSIENT_ERRORS = (OSError, MemoryError, StorageError)


def model_version_prepare(
    *, version: ModelVersion, force_download: bool = False, actor: str = "", progress: Progress = None
) -> Any:
    """Fetch, verify, load and warm up a version in this process (model_version_load), then run its golden
    set on the predictor; return the predictor. `progress` counts the bytes fetched, if any."""
    predictor = model_version_load(version=version, force_download=force_download, progress=progress)
    _golden_gate(version=version, predictor=predictor, actor=actor)
    return predictor


def model_version_load(*, version: ModelVersion, force_download: bool = False, progress: Progress = None) -> Any:
    """Fetch, verify, load and warm up a version in this process; return the predictor.

    Only the stored bytes' fault marks the version failed: a sha256 mismatch of what the store holds, or
    a load error of bytes just fetched and verified. A load error of cached bytes is retried once on a
    fresh copy first (the cache file may have been altered with its mtime put back), and an OSError,
    MemoryError or unreachable store raises PromotionError and marks nothing.
    """
    if version.status == ModelVersion.Status.RETIRED:
        raise PromotionError(f"{version} is retired; register a new version instead.")
    try:
        trust.require_trusted(version)  # before a byte is fetched: a pickle never reaches the loader
    except trust.UntrustedArtifact as exc:
        raise PromotionError(f"Refused to promote: {exc}") from None
    try:
        try:
            return _fetch_and_load(version, force=force_download, progress=progress)
        except (ChecksumMismatch, *TRANSIENT_ERRORS):
            raise
        except Exception:
            if force_download:
                raise
            logger.warning("%s failed to load from the cache; fetching a fresh copy and trying once more", version)
            return _fetch_and_load(version, force=True, progress=progress)
    except ChecksumMismatch as exc:
        _mark_failed(version, str(exc))
        raise PromotionError(f"Refused to promote {version}: {exc}") from exc
    except StoreTimeout as exc:
        raise PromotionTimeout(f"Could not fetch {version} from {version.storage} in time: {exc}") from exc
    except StorageError as exc:
        raise PromotionError(f"Could not fetch {version} from {version.storage}: {exc}") from exc
    except (OSError, MemoryError) as exc:
        raise PromotionError(
            f"{version} could not be loaded here (not marked failed): {type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:  # a deterministic load error of verified bytes: the version is unusable
        _mark_failed(version, f"{type(exc).__name__}: {exc}")
        raise PromotionError(f"{version} failed to load or warm up: {type(exc).__name__}: {exc}") from exc


def _fetch_and_load(version: ModelVersion, *, force: bool, progress: Progress = None) -> Any:
    with model_version_file(version=version, force=force, progress=progress) as path:
        return load_and_warm(version.model.runtime, path, metadata=version.metadata)


def _golden_gate(*, version: ModelVersion, predictor: Any, actor: str) -> None:
    """Run the version's golden set on the trial-loaded predictor; a mismatch refuses it (audited)."""
    if not version.golden_set:
        return
    try:
        golden.run(runtime=version.model.runtime, predictor=predictor, entries=version.golden_set)
    except golden.GoldenMismatch as exc:
        ActivationEvent.objects.create(
            model_id=version.model_id,
            from_version=None,
            to_version=version,
            action=ActivationEvent.Action.GATE_REFUSED,
            actor="atlas",
            reason=f"golden gate, for {actor or 'unknown'}: {exc}",
            details=exc.figures,
        )
        raise PromotionError(f"{version} fails its golden set: {exc}") from exc


def model_version_attach_golden(*, version: ModelVersion, entries: list[dict[str, Any]], actor: str) -> ModelVersion:
    """Attach (or replace) a version's golden set; it must be well formed (golden.validate)."""
    try:
        version.golden_set = golden.validate(entries)
    except golden.GoldenError as exc:
        raise RegistryError(str(exc)) from exc
    version.save(update_fields=["golden_set"])
    logger.info("%s: golden set of %d entries attached by %s", version, len(entries), actor)
    return version


def _mark_failed(version: ModelVersion, detail: str) -> None:
    ModelVersion.objects.filter(pk=version.pk).exclude(status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.FAILED, status_detail=without_paths(detail)[:2000]
    )
    logger.warning("%s marked failed: %s", version, detail)
