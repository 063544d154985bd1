"""The verified artifact cache: content-addressed, hashed before use, LRU-bounded, in-use files kept."""

from __future__ import annotations

import hashlib
import multiprocessing

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
