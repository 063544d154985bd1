"""The verified artifact cache: content-addressed by sha256 on local disk.

- A file is named by the sha256 the registry recorded, so two versions with the same bytes share it and
  a version never reads another version's file.
- Bytes are fetched to `<sha>.<fmt>.<pid>.part`, hashed as they are written (the store's fetch returns the
  sha256, so the file is not read back), and renamed into place only when they match; bytes that do not match
  are deleted and reported (ChecksumMismatch), never loaded.
- An exclusive file lock per sha256 makes concurrent workers and services (sharing MODEL_CACHE_DIR on one
  host) download a file once: the others wait on the lock and find it in place.
- Verified once per host: the lock file records a seal of the verified file's stamp (inode, size, mtime and
  ctime, in nanoseconds): an HMAC of the sha256 and the stamp under a key derived from SECRET_KEY. A process
  trusts a cached file without reading it only while the seal of its stamp now is the recorded one. Anyone who
  can write the cache folder can also write `.locks/` (made 0o700, but same owner), so the seal is what makes
  a recorded stamp trustworthy: a stamp written without the secret is ignored and the file hashed. Any write
  to the file changes its ctime (which no file operation sets back), so altered bytes are hashed again before
  use, and fetched again when they do not match. Residual risk: where file times come from the kernel's
  coarse clock (one tick, 1-10 ms), a same-size write landing in the same tick as the stamp keeps the stamp;
  the stamp is taken last (after the bytes are fsynced, closed, renamed into place and touched), so only a
  write racing that instant is missed. Processes sharing the folder with another SECRET_KEY hash once more.
- The folder is bounded (MODEL_CACHE_MAX_MB) by least-recently-used eviction; a use refreshes the
  file's access time, which is the LRU clock. A file being fetched or loaded is locked and never evicted.
  Downloads in progress (`.part`) count against the bound too.
- Leftovers: a `.part` of a worker killed mid-download is swept when it is older than
  MODEL_CACHE_LEFTOVER_SECONDS and no live process holds its lock; a lock file whose file is gone, when its
  lock is free (at any age). At worker start, by `clear()` (cache/clear) and before each eviction; an evicted
  or dropped file takes its lock file with it. Every store writes only names ending in `.part` here.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.db import connections
from django.utils.crypto import constant_time_compare, salted_hmac
from prometheus_client import Counter

from .storage import StoredArtifact, get_store
from .storage.base import Progress, StoreTimeout, sha256_of_file

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "atlas_artifact_cache_requests_total",
    "Verified opens of an artifact: `hit` when the file was in the cache, `miss` when it was fetched.",
    ["result"],
)


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


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_ino} {stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns}"


def _seal(sha256: str, stamp: str) -> str:
    """The HMAC (sha256, key derived from SECRET_KEY) of a verified file's sha256 and stamp."""
    return salted_hmac("models_registry.artifact_cache.stamp", f"{sha256} {stamp}", algorithm="sha256").hexdigest()


def _recorded(lock: TextIO) -> str:
    lock.seek(0)
    return lock.read()


def _record(lock: TextIO, *, sha256: str, stamp: str) -> None:
    lock.truncate(0)  # opened for appending: the write lands at the (new) end, offset 0
    lock.write(_seal(sha256, stamp))
    lock.flush()


def forget_verifications() -> None:
    """Forget every verification recorded on this host: each cached file is hashed again before its next use."""
    for lock in (cache_dir() / ".locks").glob("*.lock"):
        try:
            with open(lock, "r+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.truncate(0)
        except FileNotFoundError:  # swept meanwhile
            continue


def _lock_path(sha256: str) -> Path:
    lock_dir = cache_dir() / ".locks"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    return lock_dir / f"{sha256}.lock"


@contextmanager
def _lock_file(sha256: str, flags: int) -> Iterator[TextIO]:
    """Hold the sha256's lock (`flags`: fcntl.LOCK_EX or LOCK_SH, with LOCK_NB it raises BlockingIOError).

    The sweep deletes lock files nobody holds, so a lock is ours only if the file we locked is still the
    one at the path once we hold it; otherwise another process may lock a new file there, and we retry.
    """
    path = _lock_path(sha256)
    while True:
        handle = open(path, "a+")  # noqa: SIM115 (closed below, or kept open while yielded)
        try:
            fcntl.flock(handle, flags)
            try:
                same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            handle.close()
            raise
        if same:
            break
        handle.close()  # swept between open and flock: lock the file now at the path
    try:
        yield handle
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


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

    The file is hashed once on this host, as it is fetched; it is hashed again when it changed on disk since
    (its stamp is not the one sealed in its lock file) or when the seal was not made with this SECRET_KEY, so
    bytes altered in the cache are never loaded, even with a stamp written beside them (see the module's
    docstring for the one residual race). While the block
    runs the file holds a shared lock, so eviction and `clear()` in any worker pass it by; load it inside the
    block.
    """
    target = _path_for(sha256, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    fetched = False
    with _lock_file(sha256, fcntl.LOCK_EX) as lock:
        if force or not _usable(target, sha256=sha256, size=size, recorded=_recorded(lock)):
            _download(artifact, sha256=sha256, target=target, progress=progress)
            fetched = True
        REQUESTS.labels("miss" if fetched else "hit").inc()
        _touch(target)  # changes the ctime: the stamp is recorded after it
        _record(lock, sha256=sha256, stamp=_stamp(target))
        fcntl.flock(lock, fcntl.LOCK_SH)  # others may read it now; nobody may delete it
        yield target
    if fetched:
        evict(keep=target)


def _usable(target: Path, *, sha256: str, size: int | None, recorded: str) -> bool:
    """The cached file is there and verified: by the recorded seal of its stamp, else by hashing it now."""
    try:
        stat = target.stat()
    except FileNotFoundError:
        return False
    if size is not None and stat.st_size != size:
        target.unlink(missing_ok=True)  # truncated or replaced: fetch again
        return False
    if constant_time_compare(recorded, _seal(sha256, _stamp(target))):
        return True
    actual, _ = sha256_of_file(target)
    if actual != sha256:
        logger.warning("cached %s does not hash to its name; deleted, fetching again", target.name)
        target.unlink(missing_ok=True)
        return False
    return True


def _download(artifact: StoredArtifact, *, sha256: str, target: Path, progress: Progress) -> None:
    part = target.with_name(f"{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    try:
        actual = _fetch_within_deadline(artifact, part, progress=progress)
        if actual != sha256:
            raise ChecksumMismatch(expected=sha256, actual=actual, size=_size(part), source=_describe(artifact))
        _fsync(part)  # its writes are done before the stamp is taken
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    logger.info("cached %s (%s)", _describe(artifact), sha256[:12])


def _fetch_within_deadline(artifact: StoredArtifact, part: Path, *, progress: Progress) -> str:
    """The store's fetch, given up after ATLAS_FETCH_DEADLINE_SECONDS (StoreTimeout). Each request of a
    store has its own connect and read timeouts, but retries and a trickling store add up: this bounds the
    whole. A fetch given up on ends by its store's read timeout, on its thread, and deletes what it wrote."""
    deadline = settings.ATLAS_FETCH_DEADLINE_SECONDS
    failure: list[BaseException] = []
    digest: list[str] = []
    given_up = threading.Event()

    def fetch() -> None:
        try:
            digest.append(get_store(artifact.storage).fetch(artifact, part, progress=progress))
        except BaseException as exc:  # handed to the waiting caller
            failure.append(exc)
        finally:
            connections.close_all()  # this thread's own, if `progress` wrote to the database (promotion jobs)
            if given_up.is_set():
                _remove(part)

    thread = threading.Thread(target=fetch, name=f"fetch {part.name}", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        given_up.set()
        raise StoreTimeout(
            f"Fetching {_describe(artifact)} did not finish within {deadline:g} s (ATLAS_FETCH_DEADLINE_SECONDS): "
            "the store is not answering or too slow. Nothing was loaded; retry later, or raise the deadline "
            "for a file this large."
        )
    if failure:
        raise failure[0]
    return digest[0]


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _touch(path: Path) -> None:
    """Mark a use for LRU: the access time is the clock. It keeps the modification time, but changes the
    ctime, so the stamp that keys verification is taken after it."""
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
    try:
        with _lock_file(sha256, fcntl.LOCK_EX | fcntl.LOCK_NB):
            path.unlink(missing_ok=True)
            _lock_path(sha256).unlink(missing_ok=True)  # ours: whoever waits on it sees it gone, and retries
            return True
    except BlockingIOError:
        return False


def evict(*, keep: Path | None = None) -> list[Path]:
    """Delete least-recently-used files until the folder fits in MODEL_CACHE_MAX_MB (files in use stay)."""
    limit = settings.MODEL_CACHE_MAX_MB * 1024 * 1024
    sweep_leftovers()
    cached = sorted(entries(), key=lambda entry: entry.last_used)
    total = sum(entry.size for entry in cached) + in_progress_bytes()
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
    """Delete every cached file not in use right now (loaded models keep serving from memory), and the
    leftovers `sweep_leftovers` finds; return the names deleted."""
    cleared = [entry.path.name for entry in entries() if _delete_unless_in_use(entry.path)]
    return sorted(cleared + sweep_leftovers())


@contextmanager
def scratch(name: str) -> Iterator[Path]:
    """A `.part` path in the cache folder for a one-off download (registration hashing a stored file),
    locked while the block runs so the sweep passes it by, and deleted after."""
    key = "scratch-" + hashlib.sha256(name.encode()).hexdigest()[:32]
    path = cache_dir() / f"{key}.part"
    with _lock_file(key, fcntl.LOCK_EX):
        try:
            yield path
        finally:
            _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _parts() -> list[Path]:
    """Every download in progress (or left by a dead worker): each is named `<lock key>.….part`."""
    root = cache_dir()
    return [*root.glob("??/*.part"), *root.glob("scratch-*.part")]


def _size(path: Path) -> int:
    """Bytes under `path` (a `.part` file, or the folder a store downloads into); 0 if it is gone."""
    try:
        if not path.is_dir():
            return path.stat().st_size
        return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())
    except FileNotFoundError:
        return 0


def in_progress_bytes() -> int:
    """Bytes of downloads in progress (and of leftovers not swept yet): they count against the bound."""
    return sum(_size(part) for part in _parts())


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.lstat().st_mtime > seconds
    except FileNotFoundError:
        return False


def sweep_leftovers(*, max_age: float | None = None) -> list[str]:
    """Delete `.part` downloads older than `max_age` seconds (MODEL_CACHE_LEFTOVER_SECONDS) whose lock no
    live process holds (what a worker killed mid-download left), and the lock files of files no longer here
    whose lock is free, at any age (`_lock_file` retakes a lock file deleted under it). A lock is released by
    the kernel when its process dies, so a held lock means a live download."""
    max_age = settings.MODEL_CACHE_LEFTOVER_SECONDS if max_age is None else max_age
    removed = []
    for part in _parts():
        if not _older_than(part, max_age):
            continue
        try:
            with _lock_file(part.name.split(".", 1)[0], fcntl.LOCK_EX | fcntl.LOCK_NB):
                _remove(part)
        except BlockingIOError:
            continue  # being downloaded right now
        removed.append(part.name)
        logger.info("swept the leftover download %s from the artifact cache", part.name)
    lock_dir = cache_dir() / ".locks"
    cached = {path.name.split(".", 1)[0] for path in [*cache_dir().glob("??/*"), *_parts()]}
    for lock in lock_dir.glob("*.lock"):
        sha256 = lock.name.removesuffix(".lock")
        if sha256 in cached:
            continue
        try:
            with open(lock, "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(handle.fileno()).st_ino == os.stat(lock).st_ino:
                    lock.unlink()  # anyone who opened it meanwhile sees it gone once locked, and retries
                    removed.append(lock.name)
        except (BlockingIOError, FileNotFoundError):
            continue
    return removed


def drop(*, sha256: str, fmt: str) -> bool:
    """Delete one cached file (waiting for any worker using it); True if it was there."""
    path = _path_for(sha256, fmt)
    with _lock_file(sha256, fcntl.LOCK_EX):
        existed = path.is_file()
        path.unlink(missing_ok=True)
        _lock_path(sha256).unlink(missing_ok=True)
    return existed
