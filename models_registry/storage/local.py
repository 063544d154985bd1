"""The embedded default store: a folder (MODEL_STORE_DIR) with the same layout as the S3 bucket."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from .base import ArtifactNotFound, Progress, StorageError, StoredArtifact, artifact_key, copy_hashing


class LocalStore:
    kind = "local"

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or settings.MODEL_STORE_DIR)

    def _path(self, location: str) -> Path:
        path = (self.root / location).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StorageError(f"Location {location!r} leaves the store folder.")
        return path

    def put(
        self,
        *,
        model: str,
        version: str,
        filename: str,
        source: Path,
        progress: Progress = None,
    ) -> StoredArtifact:
        location = artifact_key(model, version, filename)
        dest = self._path(location)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f"{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")  # one per upload
        try:
            with open(source, "rb") as src, open(part, "wb") as out:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
                    if progress:
                        progress(len(chunk))
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
        return StoredArtifact(storage=self.kind, location=location)

    def fetch(self, artifact: StoredArtifact, dest: Path, *, progress: Progress = None) -> str:
        path = self._path(artifact.location)
        if not path.is_file():
            raise ArtifactNotFound(f"{path} does not exist in the local store.")
        with open(path, "rb") as src, open(dest, "wb") as out:
            sha256, _ = copy_hashing(src, out, progress=progress)
        return sha256

    def write_model_metadata(
        self, *, model: str, metadata: dict[str, Any], latest: StoredArtifact | None = None
    ) -> None:
        path = self._path(f"models/{model}/metadata.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name("metadata.json.part")
        part.write_text(json.dumps(metadata, indent=2, sort_keys=True))
        os.replace(part, path)

    def latest(self, *, model: str, aliases: Sequence[str] = ()) -> StoredArtifact:
        raise ArtifactNotFound("the local store keeps no latest/ copy")

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"Cannot use the local store {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"The local store {self.root} is not writable.")

    def pin(self, artifact: StoredArtifact) -> StoredArtifact:
        """A local file has no revision to record: the artifact is returned unchanged."""
        return artifact
