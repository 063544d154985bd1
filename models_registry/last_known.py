"""The last known active version of each model, kept beside the verified cache (issue 29 §2).

A worker that serves an active version writes `<MODEL_CACHE_DIR>/.pointers/<model>.json` (`.part` then
rename): what the registry said about it, enough to load it again. A worker started while the database is
unreachable reads these files and serves those versions from the cache, whose bytes are verified against
the recorded sha256 before loading as always (invariant 2), until the registry answers again.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .artifact_cache import cache_dir
from .models import ModelVersion, RegisteredModel

logger = logging.getLogger(__name__)

_MODEL_FIELDS = ("name", "runtime")
_VERSION_FIELDS = (
    "id",
    "version",
    "storage",
    "location",
    "bucket",
    "revision",
    "sha256",
    "size_bytes",
    "format",
    "metadata",
    "trusted_by",
    "signature",
)


def _folder() -> Path:
    folder = cache_dir() / ".pointers"
    folder.mkdir(exist_ok=True)
    return folder


def remember(version: ModelVersion) -> None:
    """Record `version` as its model's last known active version. Never raises (serving goes on)."""
    try:
        record = {
            "model": {field: getattr(version.model, field) for field in _MODEL_FIELDS},
            **{field: getattr(version, field) for field in _VERSION_FIELDS},
        }
        path = _folder() / f"{version.model.name}.json"
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_text(json.dumps(record, sort_keys=True))
        os.replace(part, path)
    except Exception:
        logger.exception("could not record the last known version of %s", version.model.name)


def versions() -> list[ModelVersion]:
    """The last known active versions, as unsaved rows (never saved: they only say what to load)."""
    found = []
    for path in sorted(_folder().glob("*.json")):
        try:
            record: dict[str, Any] = json.loads(path.read_text())
            model = RegisteredModel(**record.pop("model"))
            found.append(ModelVersion(model=model, status=ModelVersion.Status.ACTIVE, **record))
        except (OSError, ValueError, TypeError):
            logger.warning("unreadable last known pointer %s; skipped", path.name)
    return found
