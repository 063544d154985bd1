"""Helpers shared by the registry's management commands."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any, TypedDict

from django.core.management.base import CommandError

from models_registry.compat import sidecar
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.versioning import is_valid_version


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def get_model(name: str) -> RegisteredModel:
    try:
        return RegisteredModel.objects.select_related("active_version").get(name=name)
    except RegisteredModel.DoesNotExist:
        known = ", ".join(RegisteredModel.objects.values_list("name", flat=True)) or "none yet"
        raise CommandError(f"No model named {name!r}. Registered models: {known}.") from None


def get_version(model: RegisteredModel, version: str) -> ModelVersion:
    try:
        return model.versions.select_related("model").get(version=version)
    except ModelVersion.DoesNotExist:
        known = ", ".join(model.versions.values_list("version", flat=True)) or "none yet"
        raise CommandError(f"{model.name} has no version {version!r}. Its versions: {known}.") from None


def check_new_version(model_name: str, version: str) -> None:
    """Refuse, before any progress bar starts, a version string that is malformed or already taken."""
    if not is_valid_version(version):
        raise CommandError(f"--version {version!r}: use letters, digits and . _ + - (e.g. 1.2.0).")
    if ModelVersion.objects.filter(model__name=model_name, version=version).exists():
        raise CommandError(f"{model_name} already has a version {version!r}; pick another --version.")


def parse_metrics(pairs: list[str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--metric {pair!r}: use NAME=NUMBER, e.g. --metric accuracy=0.92.")
        try:
            metrics[key] = float(value)
        except ValueError:
            raise CommandError(f"--metric {pair!r}: {value!r} is not a number.") from None
    return metrics


def read_metadata(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CommandError(f"--metadata {path}: no such file.") from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"--metadata {path}: not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise CommandError(f"--metadata {path}: the JSON must be an object.")
    return data


def read_io_signature(path: str | None) -> dict[str, Any] | None:
    """A declared signature file ({"inputs": [...], "outputs": [...]}), checked for shape."""
    from models_registry import signatures

    if not path:
        return None
    try:
        return dict(signatures.validate(json.loads(Path(path).read_text())))
    except FileNotFoundError:
        raise CommandError(f"--io-signature {path}: no such file.") from None
    except (json.JSONDecodeError, signatures.SignatureError) as exc:
        raise CommandError(f"--io-signature {path}: {exc}") from None


def read_golden(path: str) -> list[dict[str, Any]]:
    from models_registry import golden

    try:
        return golden.read(Path(path))
    except golden.GoldenError as exc:
        raise CommandError(f"--golden {path}: {exc}") from None


class MetricsAndMetadata(TypedDict):
    metrics: dict[str, Any]
    metadata: dict[str, Any]


def with_sidecar(source: Path, metrics: dict[str, Any], metadata: dict[str, Any]) -> MetricsAndMetadata:
    """metrics/metadata with the old MNIST service's `.json` beside a `.npz` (explicit options win)."""
    try:
        found = sidecar.read_beside(source)
    except sidecar.SidecarError as exc:
        raise CommandError(f"{sidecar.beside(source)}: {exc}") from None
    merged_metrics, merged_metadata = sidecar.merge(found, metrics, metadata)
    return {"metrics": merged_metrics, "metadata": merged_metadata}
