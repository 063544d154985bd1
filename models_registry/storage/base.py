"""The small interface every artifact store implements: local folder, S3-compatible, Hugging Face Hub."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

CHUNK = 1024 * 1024

# progress(bytes_done_since_last_call) -- tqdm's `update` fits.
Progress = Callable[[int], object] | None


class StorageError(Exception):
    """A store could not be reached, refused the credentials, or has no such object."""


class ArtifactNotFound(StorageError):
    pass


class StoreTimeout(StorageError):
    """A fetch did not finish within ATLAS_FETCH_DEADLINE_SECONDS (the store hung or is too slow)."""


@dataclass(frozen=True)
class StoredArtifact:
    """Where a version's bytes live, as recorded on ModelVersion."""

    storage: str  # local | s3 | hf
    location: str  # relative path, S3 key, or the path in the Hub repo
    bucket: str = ""  # S3 bucket; the Hub repo_id for hf
    revision: str = ""  # S3 VersionId or ETag; Hub commit sha
    modified_at: datetime | None = field(default=None, compare=False)  # when written (S3 `latest()` gives it)


class ArtifactStore(Protocol):
    """Every method the registry calls on a store, and nothing else. A store is built with no arguments
    (its class is named in settings.ATLAS_STORES) and reads its configuration from settings. Errors:
    ArtifactNotFound when the file (or its pinned revision) is not there, StorageError for anything else.
    tests/storage/test_store_contract.py is the contract every store passes."""

    kind: str  # its name in ATLAS_STORES, recorded as StoredArtifact.storage

    def put(
        self,
        *,
        model: str,
        version: str,
        filename: str,
        source: Path,
        progress: Progress = None,
    ) -> StoredArtifact:
        """Store `source` at models/{model}/{version}/{filename}; return where it went (revision pinned)."""

    def fetch(self, artifact: StoredArtifact, dest: Path, *, progress: Progress = None) -> str:
        """Write the artifact's bytes to `dest` and return their sha256, hashed as they were written (the
        caller verifies it against the recorded one without reading the file again).
        Pinned to its revision: bytes changed since then are never fetched as this artifact (a versioned
        S3 bucket or the Hub serves the pinned bytes, an unversioned bucket refuses with StorageError); a
        store without revisions (local) relies on the caller's sha256 check."""

    def write_model_metadata(
        self, *, model: str, metadata: dict[str, Any], latest: StoredArtifact | None = None
    ) -> None:
        """Write models/{model}/metadata.json (and, where the store keeps one, the `latest/` copy)."""

    def latest(self, *, model: str, aliases: Sequence[str] = ()) -> StoredArtifact:
        """The file now at models/{model}/latest/ or at an alias's models/{alias}/latest/ (the newest one, if
        uploads left several), pinned to its revision: what the old service's `"version": "latest"` meant.
        ArtifactNotFound when there is none; StorageError from a store that keeps no latest/ (local, hf)."""

    def check(self) -> None:
        """Raise StorageError when the store cannot be reached."""

    def pin(self, artifact: StoredArtifact) -> StoredArtifact:
        """Return `artifact` with its revision recorded (S3 VersionId or ETag, Hub commit sha); local: unchanged."""


# The name the registry's annotations use for "any artifact store".
Store = ArtifactStore


def sha256_of_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class HashingWriter:
    """A write-only stream that hashes what it passes to `sink`, in one pass. It has no seek or tell, so
    boto3's transfer manager treats it as non-seekable and writes the ranged parts it downloads in order
    (holding the few that arrive early in memory, at most `max_in_memory_download_chunks` of them)."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        return self._sink.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def copy_hashing(source: BinaryIO, dest: BinaryIO, *, progress: Progress = None) -> tuple[str, int]:
    """Copy a stream while computing its sha256 and size, in one pass."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        dest.write(chunk)
        size += len(chunk)
        if progress:
            progress(len(chunk))
    return digest.hexdigest(), size


def artifact_key(model: str, version: str, filename: str) -> str:
    return f"models/{model}/{version}/{filename}"
