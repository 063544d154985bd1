"""Every write of the registry. The admin, the REST API and the management commands all call these.

Promote = fetch + verify sha256 + trial-load + warm-up in the calling process, then one transaction
(`select_for_update`, compare-and-set of the pointer, audit row, NOTIFY), then on commit the
`model_activated` signal. A version that fails any step never becomes active.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import artifact_cache, bookkeeping, broadcast, golden, selectors, trust
from .artifact_cache import ChecksumMismatch
from .errors import PromotionError as PromotionError  # re-exported: callers import the errors from services
from .errors import RegistryError as RegistryError
from .models import ActivationEvent, ModelVersion, RegisteredModel
from .redaction import without_paths
from .registration import record_version, upload_and_record
from .registration_lock import RegistrationInProgress, registration_lock
from .runtimes import check_file, load_and_warm
from .signals import model_activated
from .storage import STORAGE_KINDS, StorageError, StoredArtifact, get_store
from .storage.base import Progress, sha256_of_file
from .storage.uris import pin_revision
from .versioning import is_valid_version

logger = logging.getLogger(__name__)


MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


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


MAX_FILENAME_BYTES = 255  # a file name in every store and on every disk


def _check_filename(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if name in ("", ".", "..") or "\x00" in name:
        raise RegistryError("The file name is empty or not valid; name the file (e.g. model.onnx).")
    if len(name.encode()) > MAX_FILENAME_BYTES:
        raise RegistryError(
            f"The file name is {len(name.encode())} bytes long; at most {MAX_FILENAME_BYTES} bytes (UTF-8)."
        )
    return name


def _file_format(filename: str, fmt: str | None) -> str:
    value = (fmt or Path(filename).suffix.lstrip(".") or "bin").lower()
    if not re.fullmatch(r"[a-z0-9]{1,20}", value):
        raise RegistryError(f"File format {value!r} is not valid: 1-20 letters or digits (the file's extension).")
    return value


def _check_runtime_file(model: RegisteredModel, path: Path) -> None:
    """A file the model's runtime cannot serve (e.g. weights contradicting their sizes) is never recorded."""
    try:
        check_file(model.runtime, path)
    except ValueError as exc:
        raise RegistryError(f"The file cannot be served by runtime {model.runtime}: {exc}") from exc


def model_version_register(
    *,
    model_name: str,
    version: str,
    source: Path,
    filename: str | None = None,
    storage: str | None = None,
    runtime: str | None = None,
    fmt: str | None = None,
    metrics: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
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
    filename = _check_filename(filename or source.name)
    fmt = _file_format(filename, fmt)
    _check_runtime_file(model, source)
    try:
        with registration_lock(model_name=model.name, version=version):
            _check_new_version(model, version)  # the other registration may have finished meanwhile
            return upload_and_record(
                model=model,
                version=version,
                source=source,
                filename=filename,
                storage=storage,
                fmt=fmt,
                metrics=metrics,
                metadata=metadata,
                notes=notes,
                actor=actor,
                progress=progress,
            )
    except RegistrationInProgress:
        raise RegistryError(
            f"{model.name} {version!r} is being registered by another upload right now; nothing was stored."
        ) from None


def model_version_register_stored(
    *,
    model_name: str,
    version: str,
    artifact: StoredArtifact,
    runtime: str | None = None,
    fmt: str | None = None,
    metrics: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    notes: str = "",
    actor: str = "",
    progress: Progress = None,
    expected_sha256: str = "",
) -> ModelVersion:
    """Record a file that already lives in a store; it is fetched once to compute sha256 and size
    (refused when they differ from `expected_sha256`, a checksum recorded beside it).

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
        _check_runtime_file(model, scratch)
        sha256, size = sha256_of_file(scratch)
    except StorageError as exc:
        raise RegistryError(f"Could not read {artifact.location} from {artifact.storage}: {exc}") from exc
    finally:
        scratch.unlink(missing_ok=True)
    if expected_sha256 and sha256 != expected_sha256.strip().lower():
        raise RegistryError(f"{artifact.location} hashes to {sha256}, not the recorded sha256 {expected_sha256}.")
    return record_version(
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


def model_version_promote(
    *,
    version: ModelVersion,
    actor: str,
    reason: str = "",
    force_download: bool = False,
    details: dict[str, Any] | None = None,
    progress: Progress = None,
) -> ActivationEvent:
    """Make `version` the active version of its model. Promoting the active version reloads it.
    `progress` counts the bytes fetched (promotion_jobs reports them)."""
    predictor = model_version_prepare(version=version, force_download=force_download, actor=actor, progress=progress)
    return _move_pointer(
        version=version,
        actor=actor,
        reason=reason,
        action=ActivationEvent.Action.PROMOTE,
        predictor=predictor,
        force_download=force_download,
        details=details,
    )


def model_rollback(*, model: RegisteredModel, actor: str, reason: str = "") -> ActivationEvent:
    """Move the pointer back to the version that was active before the current one."""
    expected = model.active_version_id
    target = selectors.rollback_target(model=model)
    if target is None:
        raise RegistryError(f"{model.name} has no earlier active version to roll back to.")
    predictor = model_version_prepare(version=target, actor=actor)
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
    details: dict[str, Any] | None = None,
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
            details=details or {},
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
    # metadata.json and latest/ for the old service's clients, after the caller has its answer, and
    # only while this version is still active (models_registry/bookkeeping.py).
    bookkeeping.submit(model_name=model_name, version_id=version.pk)


def store_bookkeeping_wait(timeout: float = 600) -> None:
    """Wait until the metadata writes submitted so far are done (tests, management commands)."""
    bookkeeping.wait(timeout=timeout)


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
