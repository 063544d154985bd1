"""What dead workers leave behind: `.part` downloads, lock files, worker reports (issue 9, case 9)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from models_registry import artifact_cache, services
from models_registry.models import RegisteredModel, WorkerReport
from models_registry.services import worker_reports

pytestmark = pytest.mark.django_db

SHA = "ab" * 32
HOUR = 3600


def _aged(path, seconds: float):
    path.touch()
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def _leftover_part(*, age: float, sha: str = SHA, size: int = 10) -> os.PathLike:
    """What a worker killed mid-download leaves: `<sha>.<fmt>.<pid>.part` (and the sha's lock file)."""
    folder = artifact_cache.cache_dir() / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{sha}.json.999999.part"
    part.write_bytes(b"x" * size)
    _aged(artifact_cache._lock_path(sha), age)
    return _aged(part, age)


def test_a_part_file_older_than_the_limit_and_not_locked_is_swept():
    part = _leftover_part(age=HOUR + 60)

    swept = artifact_cache.sweep_leftovers()

    assert (swept, part.exists()) == ([part.name, f"{SHA}.lock"], False)


def test_a_part_file_younger_than_the_limit_is_kept():
    part = _leftover_part(age=60)

    assert (artifact_cache.sweep_leftovers(), part.exists()) == ([], True)


def test_an_old_part_file_whose_lock_a_live_process_holds_is_kept():
    # Given an old .part whose sha256 lock another process holds (a download that is slow, not dead)
    part = _leftover_part(age=HOUR + 60)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True);"
            " sys.stdin.read()",
            str(artifact_cache._lock_path(SHA)),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"

        # When the sweep runs, then it passes the .part and its lock by
        assert (artifact_cache.sweep_leftovers(), part.exists()) == ([], True)
    finally:
        holder.communicate("")


def test_cache_clear_sweeps_old_part_files_too():
    part = _leftover_part(age=HOUR + 60)

    assert (artifact_cache.clear(), part.exists()) == ([part.name, f"{SHA}.lock"], False)


def test_the_lock_file_of_a_file_no_longer_cached_is_swept_and_that_of_a_cached_file_kept(register):
    # Given a cached file and an old lock file of one that was evicted
    version = register("1.0.0")
    with services.model_version_file(version=version):
        pass
    _aged(artifact_cache._lock_path(version.sha256), HOUR + 60)
    gone = _aged(artifact_cache._lock_path(SHA), HOUR + 60)

    # When the sweep runs, then only the orphaned lock file goes
    assert artifact_cache.sweep_leftovers() == [gone.name]
    assert sorted(p.name for p in (artifact_cache.cache_dir() / ".locks").iterdir()) == [f"{version.sha256}.lock"]


def test_a_download_in_progress_counts_against_the_size_bound(register, settings):
    # Given a cached file, and 1 MiB of another worker's download in progress with a 1 MiB bound
    settings.MODEL_CACHE_MAX_MB = 1
    first, second = register("1.0.0"), register("2.0.0")
    with services.model_version_file(version=first) as first_path:
        pass
    _leftover_part(age=0, size=1024 * 1024)

    # When another file is fetched
    with services.model_version_file(version=second) as second_path:
        pass

    # Then the least recently used one is evicted to make room
    assert (first_path.exists(), second_path.exists()) == (False, True)


def test_a_lock_taken_on_a_swept_lock_file_is_retaken_on_the_new_file():
    # Given a worker that opened the lock file, which the sweep then deleted
    path = artifact_cache._lock_path(SHA)
    _aged(path, HOUR + 60)
    stale = open(path, "a+")  # noqa: SIM115
    artifact_cache.sweep_leftovers()

    # When the worker locks, then it holds the lock file now at the path, which another process would take
    with artifact_cache._lock_file(SHA, fcntl.LOCK_EX) as handle:
        assert os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    stale.close()


def _report(pid: int, *, host: str = "this-host", heard: timedelta = timedelta(0)) -> None:
    model, _ = RegisteredModel.objects.get_or_create(name="answers", defaults={"runtime": "json_answer"})
    WorkerReport.objects.create(host=host, pid=pid, model=model, heartbeat_at=timezone.now() - heard)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_reports_of_dead_processes_on_this_host_are_deleted_and_live_ones_kept():
    dead = _dead_pid()
    _report(dead)
    _report(os.getpid())
    _report(dead, host="another-host")  # another machine's pid says nothing here

    deleted = worker_reports.worker_reports_prune(host="this-host")

    assert deleted == 1
    assert sorted(WorkerReport.objects.values_list("host", "pid")) == [
        ("another-host", dead),
        ("this-host", os.getpid()),
    ]


def test_reports_not_heard_from_for_longer_than_the_expiry_are_deleted(settings):
    settings.ATLAS_WORKER_REPORT_EXPIRE_SECONDS = HOUR
    _report(1, host="gone-replica", heard=timedelta(seconds=HOUR + 60))
    _report(2, host="slow-replica", heard=timedelta(seconds=HOUR - 60))

    deleted = worker_reports.worker_reports_prune(host="this-host")

    assert (deleted, list(WorkerReport.objects.values_list("host", flat=True))) == (1, ["slow-replica"])


@pytest.mark.servers
def test_every_file_an_s3_download_writes_is_one_the_sweep_knows(s3_settings, tmp_path):
    # Given a version in S3 (issue 29 §6: boto3's download_file wrote `<part>.<8 random characters>`)
    from models_registry.storage.s3 import MULTIPART_THRESHOLD

    source = tmp_path / "big.json"
    source.write_bytes(b" " * (MULTIPART_THRESHOLD + 1024) + b'{"answer": 1}')
    version = services.model_version_register(
        model_name="answers", version="1.0.0", source=source, runtime="json_answer", actor="tester", storage="s3"
    )
    seen: list[tuple[set[str], set[str]]] = []

    # When it is fetched into the cache
    with services.model_version_file(version=version, progress=lambda _bytes: seen.append(_written_and_swept())):
        pass

    # Then every file written mid-download is one the sweep would find
    assert (any(written for written, _ in seen), [written - swept for written, swept in seen if written - swept]) == (
        True,
        [],
    )


@pytest.mark.servers
def test_every_file_registering_a_stored_file_writes_is_one_the_sweep_knows(s3_settings, tmp_path):
    # Given a file put in S3 directly (registration fetches it once into the cache folder to hash it)
    from models_registry.storage import StoredArtifact, get_store

    source = tmp_path / "model.json"
    source.write_text('{"answer": 1}')
    stored = get_store("s3").put(model="answers", version="1.0.0", filename="model.json", source=source)
    seen: list[tuple[set[str], set[str]]] = []

    # When it is registered
    services.model_version_register_stored(
        model_name="answers",
        version="1.0.0",
        artifact=StoredArtifact(storage="s3", location=stored.location, bucket=stored.bucket),
        runtime="json_answer",
        actor="tester",
        progress=lambda _bytes: seen.append(_written_and_swept()),
    )

    # Then the file it wrote is one the sweep would find (it wrote `.register-….part.<random>` at the root)
    assert (any(written for written, _ in seen), [written - swept for written, swept in seen if written - swept]) == (
        True,
        [],
    )


def _written_and_swept() -> tuple[set[str], set[str]]:
    """Names of the files in the cache folder now (locks aside), and those the leftover sweep would consider."""
    root = artifact_cache.cache_dir()
    written = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.parent.name != ".locks"}
    return written, {str(p.relative_to(root)) for p in artifact_cache._parts()}


def test_cache_clear_leaves_no_lock_file_behind(register):
    # Given a cached file, and the lock file of a file evicted a moment ago
    version = register("1.0.0")
    with services.model_version_file(version=version):
        pass
    artifact_cache._lock_path(SHA).touch()

    # When the cache is cleared, then `.locks/` is empty: a free lock whose file is gone goes at any age
    artifact_cache.clear()
    assert list((artifact_cache.cache_dir() / ".locks").iterdir()) == []


def test_an_evicted_file_takes_its_lock_file_with_it(register, settings):
    # Given a 1 MiB bound, and a cached file
    settings.MODEL_CACHE_MAX_MB = 1
    first = register("1.0.0", padding="x" * 700_000)
    with services.model_version_file(version=first):
        pass

    # When a second file evicts it
    second = register("2.0.0", padding="y" * 700_000)
    with services.model_version_file(version=second):
        pass

    # Then only the cached file's lock file is left
    assert sorted(p.name for p in (artifact_cache.cache_dir() / ".locks").iterdir()) == [f"{second.sha256}.lock"]
