"""Registering a version: its bytes into a store, then its row (immutable: a version string is never reused).

The upload happens under a per-(model, version) registration lock, so two uploads of the same version
cannot overwrite each other's bytes; the unique row settles any race the lock cannot see.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.db import IntegrityError, transaction

from .. import artifact_cache, signatures
from ..errors import RegistryError
from ..models import ModelVersion, RegisteredModel
from ..registration_lock import RegistrationInProgress, registration_lock
from ..runtimes import check_file, read_signature
from ..storage import STORAGE_KINDS, StorageError, StoredArtifact, get_store
from ..storage.base import Progress, sha256_of_file
from ..storage.uris import pin_revision
from ..versioning import is_valid_version


class VersionDetails(TypedDict, total=False):
    """What both ways of registering record on the version's row beside the bytes."""

    metrics: dict[str, Any] | None
    metadata: dict[str, Any] | None
    io_signature: Any  # declared inputs and outputs; the runtime reads or checks them
    notes: str
    actor: str


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


def _check_runtime_file(model: RegisteredModel, path: Path, details: VersionDetails) -> None:
    """A file the model's runtime cannot serve (e.g. weights contradicting their sizes) is never recorded;
    the signature the file carries or implies (checked against a declared one) goes into `details`."""
    raw = details.get("io_signature") or None
    try:
        declared = signatures.validate(raw) if raw is not None else None
        check_file(model.runtime, path)
        found = read_signature(model.runtime, path, metadata=details.get("metadata") or {}, declared=declared)
        details["io_signature"] = signatures.validate(found) if found else {}
    except signatures.SignatureError as exc:
        raise RegistryError(f"The signature is not valid: {exc}") from exc
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
    progress: Progress = None,
    **details: Unpack[VersionDetails],
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
    _check_runtime_file(model, source, details)
    try:
        with registration_lock(model_name=model.name, version=version):
            _check_new_version(model, version)  # the other registration may have finished meanwhile
            return _upload_and_record(
                model=model,
                version=version,
                source=source,
                filename=filename,
                storage=storage,
                fmt=fmt,
                progress=progress,
                **details,
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
    progress: Progress = None,
    expected_sha256: str = "",
    **details: Unpack[VersionDetails],
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
    with artifact_cache.scratch(f"register-{model.name}-{version}") as scratch:
        try:
            sha256 = get_store(artifact.storage).fetch(artifact, scratch, progress=progress)
            size = scratch.stat().st_size
            _check_runtime_file(model, scratch, details)
        except StorageError as exc:
            raise RegistryError(f"Could not read {artifact.location} from {artifact.storage}: {exc}") from exc
    if expected_sha256 and sha256 != expected_sha256.strip().lower():
        raise RegistryError(f"{artifact.location} hashes to {sha256}, not the recorded sha256 {expected_sha256}.")
    return _record_version(model=model, version=version, stored=artifact, sha256=sha256, size=size, fmt=fmt, **details)


def _upload_and_record(
    *,
    model: RegisteredModel,
    version: str,
    source: Path,
    filename: str,
    storage: str,
    fmt: str,
    progress: Progress,
    **details: Unpack[VersionDetails],
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
    return _record_version(model=model, version=version, stored=stored, sha256=sha256, size=size, fmt=fmt, **details)


def _record_version(
    *,
    model: RegisteredModel,
    version: str,
    stored: StoredArtifact,
    sha256: str,
    size: int,
    fmt: str,
    **details: Unpack[VersionDetails],
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
                metrics=details.get("metrics") or {},
                metadata=details.get("metadata") or {},
                io_signature=details.get("io_signature") or {},
                notes=details.get("notes", ""),
                created_by=details.get("actor", ""),
            )
    except IntegrityError:
        raise RegistryError(f"{model.name} already has a version {version!r}; versions are immutable.") from None
