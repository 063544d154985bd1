"""The verified artifact cache: content-addressed by sha256 on local disk.

- A file is named by the sha256 the registry recorded, so two versions with the same bytes share it and
  a version never reads another version's file.
- Bytes are fetched to `<sha>.<fmt>.<pid>.part`, hashed, and renamed into place only when they match;
  bytes that do not match are deleted and reported (ChecksumMismatch), never loaded. A file already in
  the cache is hashed again by each process before its first use, and whenever it changed on disk.
- An exclusive file lock per sha256 makes concurrent workers (of one replica, sharing MODEL_CACHE_DIR)
  download a file once: the others wait on the lock and find it in place.
- The folder is bounded (MODEL_CACHE_MAX_MB) by least-recently-used eviction; a use refreshes the
  file's access time, which is the LRU clock. A file being fetched or loaded is locked and never evicted.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.conf import settings

from . import metrics
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


# Files this process has hashed itself: path -> (inode, mtime_ns, size) at the time. A cached file is
# trusted without hashing again only while it is the very file this process verified.
_verified: dict[str, tuple[int, int, int]] = {}


def forget_verifications() -> None:
    """Forget which cached files this process has hashed, as a freshly started worker would."""
    _verified.clear()


@contextmanager
def _lock_file(sha256: str) -> Iterator[TextIO]:
    lock_dir = cache_dir() / ".locks"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"{sha256}.lock", "a+") as handle:
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def open_verified(
    *,
    artifact: StoredArtifact,
    sha256: str,
    size: int | None = None,
    fmt: str = "",
    force: bool = False,
    progress: Progress = None,
) -> Iterator[Path]:
    """Yield a local path whose bytes hash to `sha256`, fetching from the artifact's store if needed.

    The file is hashed by this process before its first use (and again if it changed on disk), so bytes
    altered in the cache are never loaded. While the block runs the file holds a shared lock, so
    eviction and `clear()` in any worker pass it by; load it inside the block.
    """
    target = _path_for(sha256, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    fetched = False
    with _lock_file(sha256) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or not _usable(target, sha256=sha256, size=size):
            _download(artifact, sha256=sha256, target=target, progress=progress)
            fetched = True
        metrics.ARTIFACT_CACHE_REQUESTS.labels("miss" if fetched else "hit").inc()
        fcntl.flock(lock, fcntl.LOCK_SH)  # others may read it now; nobody may delete it
        _touch(target)
        yield target
    if fetched:
        evict(keep=target)


def _usable(target: Path, *, sha256: str, size: int | None) -> bool:
    try:
        stat = target.stat()
    except FileNotFoundError:
        return False
    if size is not None and stat.st_size != size:
        target.unlink(missing_ok=True)  # truncated or replaced: fetch again
        return False
    key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    if _verified.get(str(target)) == key:
        return True
    actual, _ = sha256_of_file(target)
    if actual != sha256:
        logger.warning("cached %s does not hash to its name; deleted, fetching again", target.name)
        target.unlink(missing_ok=True)
        return False
    _verified[str(target)] = key
    return True


def _download(artifact: StoredArtifact, *, sha256: str, target: Path, progress: Progress) -> None:
    part = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        get_store(artifact.storage).fetch(artifact, part, progress=progress)
        actual, actual_size = sha256_of_file(part)
        if actual != sha256:
            raise ChecksumMismatch(expected=sha256, actual=actual, size=actual_size, source=_describe(artifact))
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    stat = target.stat()
    _verified[str(target)] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    logger.info("cached %s (%s)", _describe(artifact), sha256[:12])


def _touch(path: Path) -> None:
    """Mark a use for LRU: the access time is the clock (the modification time keys verification)."""
    stat = path.stat()
    os.utime(path, ns=(time.time_ns(), stat.st_mtime_ns))


def _describe(artifact: StoredArtifact) -> str:
    if artifact.storage == "s3":
        return f"s3://{artifact.bucket}/{artifact.location}"
    if artifact.storage == "hf":
        return f"hf://{artifact.bucket}/{artifact.location}@{artifact.revision[:12]}"
    return f"local:{artifact.location}"


def entries() -> list[CacheEntry]:
    found = []
    for path in cache_dir().glob("??/*"):
        if path.name.endswith(".part"):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted by another worker meanwhile
            continue
        found.append(CacheEntry(path=path, size=stat.st_size, last_used=stat.st_atime))
    return found


def _delete_unless_in_use(path: Path) -> bool:
    """Delete a cached file unless a worker holds it (is fetching or loading it)."""
    sha256 = path.name.split(".", 1)[0]
    with _lock_file(sha256) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        path.unlink(missing_ok=True)
        _verified.pop(str(path), None)
        return True


def evict(*, keep: Path | None = None) -> list[Path]:
    """Delete least-recently-used files until the folder fits in MODEL_CACHE_MAX_MB (files in use stay)."""
    limit = settings.MODEL_CACHE_MAX_MB * 1024 * 1024
    cached = sorted(entries(), key=lambda entry: entry.last_used)
    total = sum(entry.size for entry in cached)
    removed = []
    for entry in cached:
        if total <= limit:
            break
        if entry.path == keep or not _delete_unless_in_use(entry.path):
            continue
        total -= entry.size
        removed.append(entry.path)
        logger.info("evicted %s from the artifact cache", entry.path.name)
    return removed


def clear() -> list[str]:
    """Delete every cached file not in use right now (loaded models keep serving from memory)."""
    return sorted(entry.path.name for entry in entries() if _delete_unless_in_use(entry.path))


def drop(*, sha256: str, fmt: str) -> bool:
    """Delete one cached file (waiting for any worker using it); True if it was there."""
    path = _path_for(sha256, fmt)
    with _lock_file(sha256) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        _verified.pop(str(path), None)
    return existed
