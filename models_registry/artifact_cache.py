"""The verified artifact cache: content-addressed by sha256 on local disk.

- A file is named by the sha256 the registry recorded, so two versions with the same bytes share it and
  a version never reads another version's file.
- Bytes are fetched to `<sha>.part`, hashed, and renamed into place only when they match; bytes that do
  not match are deleted and reported (ChecksumMismatch), never loaded.
- An exclusive file lock per sha256 makes concurrent workers (of one replica, sharing MODEL_CACHE_DIR)
  download a file once: the others wait on the lock and find it in place.
- The folder is bounded (MODEL_CACHE_MAX_MB) by least-recently-used eviction; a hit refreshes the
  file's mtime, which is the LRU clock.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .storage import StoredArtifact, get_store
from .storage.base import Progress, sha256_of_file

logger = logging.getLogger(__name__)


class ChecksumMismatch(Exception):
    def __init__(self, *, expected: str, actual: str, size: int, source: str) -> None:
        self.expected, self.actual, self.size, self.source = (
            expected,
            actual,
            size,
            source,
        )
        super().__init__(
            f"sha256 mismatch for {source}: the registry records {expected[:16]}…, the stored bytes "
            f"({size} bytes) hash to {actual[:16]}…. The file was not loaded and its cached copy was deleted."
        )


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    size: int
    last_used: float


def cache_dir() -> Path:
    path = Path(settings.MODEL_CACHE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _path_for(sha256: str, fmt: str) -> Path:
    suffix = f".{fmt}" if fmt else ""
    return cache_dir() / sha256[:2] / f"{sha256}{suffix}"


@contextmanager
def _locked(sha256: str) -> Iterator[None]:
    lock_dir = cache_dir() / ".locks"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"{sha256}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached_path(*, sha256: str, fmt: str) -> Path | None:
    path = _path_for(sha256, fmt)
    return path if path.is_file() else None


def fetch_verified(
    *,
    artifact: StoredArtifact,
    sha256: str,
    size: int | None = None,
    fmt: str = "",
    force: bool = False,
    progress: Progress = None,
) -> Path:
    """Return a local path whose bytes hash to `sha256`, fetching from the artifact's store if needed."""
    target = _path_for(sha256, fmt)
    if not force and _touch_if_valid(target, size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(sha256):
        if force:
            target.unlink(missing_ok=True)
        elif _touch_if_valid(target, size):  # another worker fetched it while we waited on the lock
            return target
        part = target.with_name(f"{target.name}.{os.getpid()}.part")
        try:
            get_store(artifact.storage).fetch(artifact, part, progress=progress)
            actual, actual_size = sha256_of_file(part)
            if actual != sha256:
                raise ChecksumMismatch(
                    expected=sha256,
                    actual=actual,
                    size=actual_size,
                    source=_describe(artifact),
                )
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
    evict(keep=target)
    logger.info("cached %s (%s)", _describe(artifact), sha256[:12])
    return target


def _touch_if_valid(path: Path, size: int | None) -> bool:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    if size is not None and stat.st_size != size:
        # Truncated or replaced behind our back: drop it and fetch again.
        path.unlink(missing_ok=True)
        return False
    os.utime(path)
    return True


def _describe(artifact: StoredArtifact) -> str:
    if artifact.storage == "s3":
        return f"s3://{artifact.bucket}/{artifact.location}"
    if artifact.storage == "hf":
        return f"hf://{artifact.bucket}/{artifact.location}@{artifact.revision[:12]}"
    return f"local:{artifact.location}"


def entries() -> list[CacheEntry]:
    found = []
    for path in cache_dir().glob("??/*"):
        if path.name.endswith(".part") or not path.is_file():
            continue
        stat = path.stat()
        found.append(CacheEntry(path=path, size=stat.st_size, last_used=stat.st_mtime))
    return found


def evict(*, keep: Path | None = None) -> list[Path]:
    """Delete least-recently-used files until the folder fits in MODEL_CACHE_MAX_MB."""
    limit = settings.MODEL_CACHE_MAX_MB * 1024 * 1024
    cached = sorted(entries(), key=lambda entry: entry.last_used)
    total = sum(entry.size for entry in cached)
    removed = []
    for entry in cached:
        if total <= limit:
            break
        if keep is not None and entry.path == keep:
            continue
        entry.path.unlink(missing_ok=True)
        total -= entry.size
        removed.append(entry.path)
        logger.info("evicted %s from the artifact cache", entry.path.name)
    return removed


def clear() -> list[str]:
    """Delete every cached file (loaded models keep serving from memory). Returns the file names."""
    cleared = []
    for entry in entries():
        entry.path.unlink(missing_ok=True)
        cleared.append(entry.path.name)
    return sorted(cleared)


def drop(*, sha256: str, fmt: str) -> bool:
    path = _path_for(sha256, fmt)
    existed = path.is_file()
    path.unlink(missing_ok=True)
    return existed
