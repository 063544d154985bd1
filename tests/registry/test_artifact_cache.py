"""The verified artifact cache: content-addressed, hashed before use, LRU-bounded, in-use files kept."""

from __future__ import annotations

import hashlib
import multiprocessing
import os

import pytest

from models_registry import artifact_cache, services

pytestmark = pytest.mark.django_db


def _file(version):
    return services.model_version_file(version=version)


def test_a_fetch_names_the_file_by_its_sha256(register):
    version = register("1.0.0")

    with _file(version) as path:
        assert path.name == f"{version.sha256}.json"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == version.sha256


def test_bytes_altered_in_the_cache_are_never_used_they_are_fetched_again(register):
    version = register("1.0.0", answer="good")
    with _file(version) as path:
        original = path.read_bytes()
    tampered = original.replace(b"good", b"evil")  # same length: a size check alone would pass it
    path.write_bytes(tampered)

    with _file(version) as again:
        assert again.read_bytes() == original


def _never_read(path):
    raise AssertionError(f"{path} was read back to hash it")


def test_a_fetch_hashes_the_bytes_as_they_are_written_never_reading_the_file_back(register, monkeypatch):
    version = register("1.0.0")
    monkeypatch.setattr(artifact_cache, "sha256_of_file", _never_read)

    with _file(version) as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == version.sha256


def _open_in_a_child_process(version, queue) -> None:
    with _file(version) as path:  # a forked worker that has verified nothing itself
        queue.put(path.name)


def test_a_file_another_process_fetched_is_used_without_hashing_it_again(register, monkeypatch):
    # Given a version fetched and verified by another worker of this host
    version = register("1.0.0")
    queue = multiprocessing.get_context("fork").Queue()
    worker = multiprocessing.get_context("fork").Process(target=_open_in_a_child_process, args=(version, queue))
    worker.start()
    fetched = queue.get(timeout=30)
    worker.join(timeout=30)

    # When this process opens it, then it is not read to hash it again
    monkeypatch.setattr(artifact_cache, "sha256_of_file", _never_read)
    with _file(version) as path:
        assert (path.name, fetched) == (f"{version.sha256}.json", path.name)


def test_bytes_altered_in_the_cache_with_their_mtime_put_back_are_fetched_again(register):
    version = register("1.0.0", answer="good")
    with _file(version) as path:
        original = path.read_bytes()
    stat = path.stat()
    path.write_bytes(original.replace(b"good", b"evil"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime, same inode

    with _file(version) as again:
        assert again.read_bytes() == original


def test_a_stamp_forged_in_the_lock_file_is_ignored_the_altered_bytes_are_hashed_and_fetched_again(register):
    # Given a version verified and cached, then its cached bytes altered and the altered file's stamp
    # written into its lock file by someone who can write the cache folder but does not hold the secret
    version = register("1.0.0", answer="good")
    with _file(version) as path:
        original = path.read_bytes()
    path.write_bytes(original.replace(b"good", b"evil"))
    stat = path.stat()
    lock = artifact_cache.cache_dir() / ".locks" / f"{version.sha256}.lock"
    lock.write_text(f"{stat.st_ino} {stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns}")

    # When it is opened, then the altered bytes are never used: they are hashed, refused and fetched again
    with _file(version) as again:
        assert again.read_bytes() == original


def test_a_stamp_recorded_under_another_secret_key_is_not_trusted(register, settings, monkeypatch):
    version = register("1.0.0")
    with _file(version):
        pass
    settings.SECRET_KEY = "another deployment's secret key, not this one's"
    hashed = []
    monkeypatch.setattr(artifact_cache, "sha256_of_file", lambda path: hashed.append(path.name) or (version.sha256, 0))

    with _file(version) as path:
        assert hashed == [path.name]


def test_the_lock_folder_is_private_to_its_owner(register):
    version = register("1.0.0")
    with _file(version):
        pass

    assert (artifact_cache.cache_dir() / ".locks").stat().st_mode & 0o777 == 0o700


def test_eviction_keeps_the_cache_under_its_bound_least_recently_used_first(register, settings):
    settings.MODEL_CACHE_MAX_MB = 0  # every file is over the bound once another arrives
    first, second = register("1.0.0"), register("2.0.0")
    with _file(first) as first_path:
        pass

    with _file(second) as second_path:
        pass

    assert (first_path.exists(), second_path.exists()) == (False, True)


def test_a_file_in_use_is_not_evicted(register, settings):
    settings.MODEL_CACHE_MAX_MB = 0
    first, second = register("1.0.0"), register("2.0.0")

    with _file(first) as in_use:
        with _file(second):
            pass
        assert in_use.exists()


def _clear_in_another_process(queue) -> None:
    queue.put(artifact_cache.clear())  # a forked worker: same settings, its own file locks


def test_clear_from_another_worker_passes_by_a_file_being_loaded(register):
    version = register("1.0.0")
    queue = multiprocessing.get_context("fork").Queue()

    with _file(version) as path:
        worker = multiprocessing.get_context("fork").Process(target=_clear_in_another_process, args=(queue,))
        worker.start()
        cleared = queue.get(timeout=30)
        worker.join(timeout=30)
        assert (cleared, path.exists()) == ([], True)

    assert artifact_cache.clear() == [path.name]
