"""Adopting a bucket the threat-intelligence service filled (`manage.py adopt_store s3://bucket`).

Its layout: models/{stem}/{version}/{file} per version, models/{stem}/metadata.json describing the last
upload (version, uploaded_at, sha256, accuracy) and models/{stem}/latest/{file}, a copy of the version
it served. Every version object is registered in place (pinned to its VersionId or ETag, its sha256
computed from its bytes and checked against metadata.json's where that names the version); the version
whose bytes equal latest/ is made active. Stems map to registered models through --map, then
settings.ATLAS_MODEL_ALIASES (yolov8m -> visual_detector, ...), else the stem itself. Running it again
registers nothing twice.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from .. import services
from ..models import ModelVersion, RegisteredModel
from ..storage import StorageError, StoredArtifact, get_store
from ..storage.base import sha256_of_file
from ..storage.s3 import S3Store

PREFIX = "models/"


@dataclass
class AdoptionReport:
    registered: list[str] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "what: why"


@dataclass
class _Stem:
    versions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # version -> keys
    latest: list[str] = field(default_factory=list)
    metadata_key: str | None = None


def _layout(keys: list[str], report: AdoptionReport) -> dict[str, _Stem]:
    stems: dict[str, _Stem] = defaultdict(_Stem)
    for key in keys:
        parts = key[len(PREFIX) :].split("/")
        if len(parts) == 2 and parts[1] == "metadata.json":
            stems[parts[0]].metadata_key = key
        elif len(parts) == 3 and all(parts) and parts[1] == "latest":
            stems[parts[0]].latest.append(key)
        elif len(parts) == 3 and all(parts):
            stems[parts[0]].versions[parts[1]].append(key)
        elif not key.endswith("/"):
            report.skipped.append(f"{key}: not models/{{model}}/{{version}}/{{file}}")
    return stems


def _list_keys(bucket: str) -> list[str]:
    store = get_store("s3")
    if not isinstance(store, S3Store):
        raise StorageError(f"Adopting a bucket needs the S3 store; ATLAS_STORES names {type(store).__name__} for s3.")
    client = store.client
    keys: list[str] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"Cannot list s3://{bucket}/{PREFIX}: {exc}") from exc
    return sorted(keys)


def _fetch(bucket: str, key: str, dest: Path) -> None:
    get_store("s3").fetch(StoredArtifact(storage="s3", location=key, bucket=bucket), dest)


def _read_metadata(bucket: str, key: str | None, scratch: Path, report: AdoptionReport) -> dict[str, Any]:
    if key is None:
        return {}
    target = scratch / "metadata.json"
    try:
        _fetch(bucket, key, target)
        data = json.loads(target.read_text(encoding="utf-8"))
    except (StorageError, ValueError, UnicodeDecodeError) as exc:
        report.skipped.append(f"{key}: unreadable ({exc}); versions registered without it")
        return {}
    return data if isinstance(data, dict) else {}


def _adopt_version(
    *,
    bucket: str,
    model_name: str,
    version: str,
    keys: list[str],
    metadata: dict[str, Any],
    actor: str,
    report: AdoptionReport,
) -> None:
    if len(keys) != 1:
        folder = keys[0].rsplit("/", 1)[0]
        report.skipped.append(
            f"s3://{bucket}/{folder}/: {len(keys)} files; register the one to serve with register_model"
        )
        return
    key = keys[0]
    existing = ModelVersion.objects.filter(model__name=model_name, version=version).first()
    if existing is not None:
        same = existing.location == key and existing.bucket == bucket
        why = "already registered" if same else f"{model_name} already has a version {version!r} from elsewhere"
        report.skipped.append(f"s3://{bucket}/{key}: {why}")
        return
    described = metadata.get("version") == version
    accuracy = metadata.get("accuracy") if described else None
    extra = {"adopted_from": f"s3://{bucket}/{key}"}
    if described and metadata.get("uploaded_at"):
        extra["uploaded_at"] = str(metadata["uploaded_at"])
    try:
        registered = services.model_version_register_stored(
            model_name=model_name,
            version=version,
            artifact=StoredArtifact(storage="s3", location=key, bucket=bucket),
            runtime=settings.ATLAS_KNOWN_MODELS.get(model_name),
            metrics={"accuracy": accuracy} if isinstance(accuracy, int | float) else {},
            metadata=extra,
            notes="Adopted from the threat-intelligence service's bucket (accuracy from its metadata.json).",
            actor=actor,
            expected_sha256=str(metadata.get("sha256") or "") if described else "",
        )
    except services.RegistryError as exc:
        report.skipped.append(f"s3://{bucket}/{key}: {exc}")
        return
    pin = f", revision {registered.revision}" if registered.revision else ""
    report.registered.append(f"{model_name} {version} (s3://{bucket}/{key}, sha256 {registered.sha256[:12]}{pin})")


def _activate_latest(
    *, bucket: str, model_name: str, latest: list[str], scratch: Path, actor: str, report: AdoptionReport
) -> None:
    if len(latest) != 1:
        if latest:
            report.skipped.append(f"{model_name}: {len(latest)} files under latest/; nothing activated")
        return
    target = scratch / "latest.bin"
    try:
        _fetch(bucket, latest[0], target)
    except StorageError as exc:
        report.skipped.append(f"s3://{bucket}/{latest[0]}: {exc}")
        return
    sha256, _ = sha256_of_file(target)
    model = RegisteredModel.objects.filter(name=model_name).select_related("active_version").first()
    match = model.versions.filter(sha256=sha256).first() if model else None
    if model is None or match is None:
        report.skipped.append(f"s3://{bucket}/{latest[0]}: its bytes equal no registered version; nothing activated")
        return
    if model.active_version_id == match.pk:
        report.skipped.append(f"{model_name} {match.version}: already active")
        return
    try:
        services.model_version_promote(version=match, actor=actor, reason="adopt_store: its bytes equal latest/")
    except services.RegistryError as exc:
        report.skipped.append(f"{model_name} {match.version}: not activated: {exc}")
        return
    report.activated.append(f"{model_name} {match.version} (its bytes equal {latest[0]})")


def store_adopt(*, bucket: str, mapping: dict[str, str], actor: str) -> AdoptionReport:
    """Register every version in an old-layout bucket and activate what its latest/ holds."""
    report = AdoptionReport()
    stems = _layout(_list_keys(bucket), report)
    for stem, found in sorted(stems.items()):
        model_name = mapping.get(stem) or settings.ATLAS_MODEL_ALIASES.get(stem, stem)
        with tempfile.TemporaryDirectory(prefix="adopt-") as scratch_dir:
            scratch = Path(scratch_dir)
            metadata = _read_metadata(bucket, found.metadata_key, scratch, report)
            for version, keys in sorted(found.versions.items()):
                _adopt_version(
                    bucket=bucket,
                    model_name=model_name,
                    version=version,
                    keys=keys,
                    metadata=metadata,
                    actor=actor,
                    report=report,
                )
            _activate_latest(
                bucket=bucket, model_name=model_name, latest=found.latest, scratch=scratch, actor=actor, report=report
            )
    return report
