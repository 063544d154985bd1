"""The MNIST service's `.json` sidecar beside a `{name}.npz`, read as a version's metrics and metadata.

Its training script wrote `{"training_config": {sizes, activation, epochs, ...}, "final_accuracy": 96.18}`
(accuracy in percent on its test set). Atlas records accuracy as a fraction, so `metrics.accuracy` is
final_accuracy / 100 and the percent is kept as `final_accuracy_percent`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class SidecarError(ValueError):
    """A sidecar that is not the JSON object the old training script wrote."""


def from_json(data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics, metadata) from a parsed sidecar; SidecarError when it is not a JSON object."""
    if not isinstance(data, dict):
        raise SidecarError("the .json sidecar must be a JSON object.")
    metrics: dict[str, Any] = {}
    metadata: dict[str, Any] = {"sidecar": data}
    accuracy = data.get("final_accuracy")
    if isinstance(accuracy, int | float) and not isinstance(accuracy, bool):
        metrics = {"accuracy": round(float(accuracy) / 100, 6), "final_accuracy_percent": float(accuracy)}
    config = data.get("training_config")
    if isinstance(config, dict):
        metadata["training"] = config
        if isinstance(config.get("sizes"), list):
            metadata["layer_sizes"] = config["sizes"]
        if isinstance(config.get("activation"), str):
            metadata["activation"] = config["activation"]
    return metrics, metadata


def parse(text: str | bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return from_json(json.loads(text))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SidecarError(f"the .json sidecar is not valid JSON ({exc}).") from exc


def beside(path: Path) -> Path | None:
    """The `{name}.json` beside a `{name}.npz`, if there is one."""
    path = Path(path)
    candidate = path.with_suffix(".json")
    return candidate if path.suffix.lower() == ".npz" and candidate.is_file() else None


def read_beside(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics, metadata) from the sidecar beside `path`; both empty when there is none."""
    found = beside(path)
    return parse(found.read_bytes()) if found is not None else ({}, {})


def merge(
    sidecar: tuple[dict[str, Any], dict[str, Any]], metrics: dict[str, Any] | None, metadata: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the operator passed explicitly wins over the sidecar, key by key."""
    return {**sidecar[0], **(metrics or {})}, {**sidecar[1], **(metadata or {})}
