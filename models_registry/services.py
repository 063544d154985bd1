"""Every write of the registry. The admin, the REST API and the management commands all call these.

Promote = fetch + verify sha256 + trial-load + warm-up in the calling process, then one transaction
(`select_for_update`, compare-and-set of the pointer, audit row, NOTIFY), then on commit the
`model_activated` signal. A version that fails any step never becomes active.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from . import artifact_cache, broadcast, selectors
from .artifact_cache import ChecksumMismatch
from .models import ActivationEvent, ModelVersion, RegisteredModel
from .runtimes import load_and_warm
from .signals import model_activated
from .storage import STORAGE_KINDS, StorageError, StoredArtifact, get_store
from .storage.base import Progress, sha256_of_file
from .storage.uris import pin_revision
from .versioning import is_valid_version

logger = logging.getLogger(__name__)


MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


class RegistryError(Exception):
    """A registry operation was refused; the message says why and what to do."""


class PromotionError(RegistryError):
    pass


def registered_model_get_or_create(*, name: str, runtime: str, description: str = "") -> RegisteredModel:
    if not MODEL_NAME.match(name):
        raise RegistryError(
            f"Model name {name!r} is not valid: use 1-100 lowercase letters, digits, '_' and '-' "
            "(it becomes a folder name in every store)."
        )
    if runtime not in settings.ATLAS_RUNTIMES:
        raise RegistryError(f"Unknown runtime {runtime!r}; choose one of {', '.join(sorted(settings.ATLAS_RUNTIMES))}.")
    model, created = RegisteredModel.objects.get_or_create(
        name=name, defaults={"runtime": runtime, "description": description}
    )
    if not created and model.runtime != runtime:
        raise RegistryError(f"Model {name!r} is served by runtime {model.runtime!r}, not {runtime!r}.")
    return model


def _model_for_registration(model_name: str, runtime: str | None) -> RegisteredModel:
    if runtime:
        return registered_model_get_or_create(name=model_name, runtime=runtime)
    try:
        return RegisteredModel.objects.get(name=model_name)
    except RegisteredModel.DoesNotExist:
        raise RegistryError(
            f"Model {model_name!r} is not registered; pass its runtime "
            f"({', '.join(sorted(settings.ATLAS_RUNTIMES))}) to create it."
        ) from None


def _check_new_version(model: RegisteredModel, version: str) -> None:
    if not is_valid_version(version):
        raise RegistryError(f"Version {version!r} is not valid: use 1-64 letters, digits and . _ + - (e.g. 1.2.0).")
    if model.versions.filter(version=version).exists():
        raise RegistryError(f"{model.name} already has a version {version!r}; versions are immutable.")


def _file_format(filename: str, fmt: str | None) -> str:
    value = (fmt or Path(filename).suffix.lstrip(".") or "bin").lower()
    if not re.fullmatch(r"[a-z0-9]{1,20}", value):
        raise RegistryError(f"File format {value!r} is not valid: 1-20 letters or digits (the file's extension).")
    return value


def _record_version(
    *,
    model: RegisteredModel,
    version: str,
    stored: StoredArtifact,
    sha256: str,
    size: int,
    fmt: str,
    metrics: dict | None,
    metadata: dict | None,
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


def model_version_register(
    *,
    model_name: str,
    version: str,
    source: Path,
    filename: str | None = None,
    storage: str | None = None,
    runtime: str | None = None,
    fmt: str | None = None,
    metrics: dict | None = None,
    metadata: dict | None = None,
    notes: str = "",
    actor: str = "",
    progress: Progress = None,
) -> ModelVersion:
    """Upload a local file to a store and record it as a new version (sha256 and size from its bytes)."""
    source = Path(source)
    if not source.is_file():
        raise RegistryError(f"{source} is not a file.")
    storage = (storage or settings.MODEL_STORAGE_TYPE).lower()
    if storage not in STORAGE_KINDS:
        raise RegistryError(f"Unknown storage {storage!r}; use one of {', '.join(STORAGE_KINDS)}.")
    model = _model_for_registration(model_name, runtime)
    _check_new_version(model, version)
    filename = filename or source.name
    fmt = _file_format(filename, fmt)
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
    return _record_version(
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


def model_version_register_stored(
    *,
    model_name: str,
    version: str,
    artifact: StoredArtifact,
    runtime: str | None = None,
    fmt: str | None = None,
    metrics: dict | None = None,
    metadata: dict | None = None,
    notes: str = "",
    actor: str = "",
    progress: Progress = None,
) -> ModelVersion:
    """Record a file that already lives in a store; it is fetched once to compute sha256 and size.

    A remote artifact without a revision is pinned first (the Hub's current commit sha, the S3 object's
    VersionId or ETag), so the version always means these bytes.
    """
    model = _model_for_registration(model_name, runtime)
    _check_new_version(model, version)
    fmt = _file_format(artifact.location, fmt)
    if artifact.storage != "local" and not artifact.revision:
        try:
            artifact = pin_revision(artifact)
        except StorageError as exc:
            raise RegistryError(f"Could not pin {artifact.location} in {artifact.storage}: {exc}") from exc
    scratch = artifact_cache.cache_dir() / f".register-{model.name}-{version}.part"
    try:
        get_store(artifact.storage).fetch(artifact, scratch, progress=progress)
        sha256, size = sha256_of_file(scratch)
    except StorageError as exc:
        raise RegistryError(f"Could not read {artifact.location} from {artifact.storage}: {exc}") from exc
    finally:
        scratch.unlink(missing_ok=True)
    return _record_version(
        model=model,
        version=version,
        stored=artifact,
        sha256=sha256,
        size=size,
        fmt=fmt,
        metrics=metrics,
        metadata=metadata,
        notes=notes,
        actor=actor,
    )


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


def model_version_prepare(*, version: ModelVersion, force_download: bool = False) -> Any:
    """Fetch, verify, load and warm up a version in this process; return the predictor.

    A verification or load failure marks the version failed and raises PromotionError; a store that
    cannot be reached raises PromotionError and marks nothing.
    """
    if version.status == ModelVersion.Status.RETIRED:
        raise PromotionError(f"{version} is retired; register a new version instead.")
    try:
        with model_version_file(version=version, force=force_download) as path:
            try:
                return load_and_warm(version.model.runtime, path, metadata=version.metadata)
            except Exception as exc:  # any loader failure: the version is unusable, the old one keeps serving
                _mark_failed(version, f"{type(exc).__name__}: {exc}")
                raise PromotionError(f"{version} failed to load or warm up: {type(exc).__name__}: {exc}") from exc
    except ChecksumMismatch as exc:
        _mark_failed(version, str(exc))
        raise PromotionError(f"Refused to promote {version}: {exc}") from exc
    except StorageError as exc:
        raise PromotionError(f"Could not fetch {version} from {version.storage}: {exc}") from exc


def _mark_failed(version: ModelVersion, detail: str) -> None:
    ModelVersion.objects.filter(pk=version.pk).exclude(status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.FAILED, status_detail=detail[:2000]
    )
    logger.warning("%s marked failed: %s", version, detail)


def model_version_promote(
    *, version: ModelVersion, actor: str, reason: str = "", force_download: bool = False
) -> ActivationEvent:
    """Make `version` the active version of its model. Promoting the active version reloads it."""
    predictor = model_version_prepare(version=version, force_download=force_download)
    return _move_pointer(
        version=version,
        actor=actor,
        reason=reason,
        action=ActivationEvent.Action.PROMOTE,
        predictor=predictor,
        force_download=force_download,
    )


def model_rollback(*, model: RegisteredModel, actor: str, reason: str = "") -> ActivationEvent:
    """Move the pointer back to the version that was active before the current one."""
    expected = model.active_version_id
    target = selectors.rollback_target(model=model)
    if target is None:
        raise RegistryError(f"{model.name} has no earlier active version to roll back to.")
    predictor = model_version_prepare(version=target)
    return _move_pointer(
        version=target,
        actor=actor,
        reason=reason,
        action=ActivationEvent.Action.ROLLBACK,
        predictor=predictor,
        expected_from=expected,
    )


_UNSET = object()


def _move_pointer(
    *,
    version: ModelVersion,
    actor: str,
    reason: str,
    action: str,
    predictor: Any,
    force_download: bool = False,
    expected_from: Any = _UNSET,
) -> ActivationEvent:
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=version.model_id)
        from_id = model.active_version_id
        # Retiring takes the same row lock: a retire that committed during our trial load is seen here.
        if ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.RETIRED).exists():
            raise PromotionError(f"{version} was retired meanwhile; it cannot become active.")
        if expected_from is not _UNSET and from_id != expected_from:
            raise PromotionError(f"The active version of {model.name} changed meanwhile; look again and retry.")
        if from_id == version.pk:
            action = ActivationEvent.Action.RELOAD
        # Compare-and-set: under the row lock this always matches; it guards the invariant regardless.
        moved = RegisteredModel.objects.filter(pk=model.pk, active_version_id=from_id).update(active_version=version)
        if moved != 1:
            raise PromotionError(f"The active version of {model.name} changed meanwhile; retry.")
        if from_id and from_id != version.pk:
            ModelVersion.objects.filter(pk=from_id).update(status=ModelVersion.Status.INACTIVE)
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE, status_detail="")
        event = ActivationEvent.objects.create(
            model=model,
            from_version_id=from_id,
            to_version=version,
            action=action,
            actor=actor[:150] or "unknown",
            reason=reason,
        )
        broadcast.notify_activation(model_name=model.name, version_id=version.pk)
        version.status = ModelVersion.Status.ACTIVE
        transaction.on_commit(
            lambda: _after_activation(
                model_name=model.name,
                version=version,
                action=action,
                predictor=predictor,
                force_download=force_download,
            )
        )
    # The log names versions, not database ids.
    from_label = ModelVersion.objects.filter(pk=from_id).values_list("version", flat=True).first() if from_id else None
    logger.info("%s: %s -> %s (%s by %s)", model.name, from_label or "none", version.version, action, actor)
    return event


def _after_activation(
    *, model_name: str, version: ModelVersion, action: str, predictor: Any, force_download: bool
) -> None:
    model_activated.send(
        sender=RegisteredModel,
        model_name=model_name,
        version=version,
        action=action,
        predictor=predictor,
        force_download=force_download,
    )
    # Bookkeeping for the old service's clients (metadata.json, latest/ copy) can take seconds on a big
    # file; the promotion has taken effect already, so it runs after the caller has its answer. One
    # thread per process keeps the writes in promotion order, and the interpreter waits for it at exit.
    _store_bookkeeping.submit(
        _write_store_metadata,
        storage=version.storage,
        model_name=model_name,
        metadata=selectors.store_metadata(version=version),
        latest=version_artifact(version),
    )


_store_bookkeeping = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-store-metadata")


def _write_store_metadata(*, storage: str, model_name: str, metadata: dict, latest: StoredArtifact) -> None:
    """Storage I/O only: everything it needs from the database was read by the caller."""
    try:
        get_store(storage).write_model_metadata(model=model_name, metadata=metadata, latest=latest)
    except StorageError as exc:
        logger.warning("could not write metadata.json for %s@%s: %s", model_name, metadata["version"], exc)
    except Exception:  # never lose the thread to one failure
        logger.exception("writing metadata.json for %s failed", model_name)


def store_bookkeeping_wait(timeout: float = 60) -> None:
    """Wait until the metadata writes submitted so far are done (tests, management commands)."""
    _store_bookkeeping.submit(lambda: None).result(timeout=timeout)


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
