"""Only the bytes' fault marks a version failed; a worker backs off exponentially (issue 9, cases 4, 5)."""

from __future__ import annotations

import os

import pytest

from inference import model_cache
from models_registry import services
from models_registry.models import ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", ["MemoryError", "OSError"])
def test_a_machine_error_while_loading_does_not_mark_the_version_failed(register, error):
    version = register("1.0.0", **{"raise": error})

    with pytest.raises(services.PromotionError, match=rf"\(not marked failed\): {error}"):
        services.model_version_promote(version=version, actor="a")

    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.REGISTERED


def test_a_cache_file_altered_with_its_mtime_put_back_is_fetched_again_not_marked_failed(register, settings):
    version = register("1.0.0", answer=7)
    services.model_version_prepare(version=version)  # cached and verified by this process
    [cached] = [p for p in settings.MODEL_CACHE_DIR.rglob("*.json")]
    stat = cached.stat()
    cached.write_bytes(b"x" * stat.st_size)
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    services.model_version_promote(version=version, actor="a")

    assert (ModelVersion.objects.get(pk=version.pk).status, model_cache.get("answers").predictor.predict()) == (
        ModelVersion.Status.ACTIVE,
        7,
    )


def test_a_load_error_of_verified_bytes_marks_the_version_failed(register):
    version = register("1.0.0", fail_warm_up=True)

    with pytest.raises(services.PromotionError, match="failed to load or warm up"):
        services.model_version_promote(version=version, actor="a")

    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.FAILED


def _make_active(version: ModelVersion) -> None:
    RegisteredModel.objects.filter(pk=version.model_id).update(active_version=version)


def test_a_worker_backs_off_exponentially_up_to_five_minutes_and_starts_over_for_a_new_version(register):
    model_cache.mark_serving()
    bad = register("1.0.0", fail_warm_up=True)
    _make_active(bad)
    for _ in range(3):
        assert model_cache.activate(version=bad, force_download=True) is None
    failure = model_cache.failures()["answers"]
    assert (failure.attempts, failure.retry_at - failure.at) == (3, 20.0)
    assert model_cache.activate(version=bad) is None and model_cache.failures()["answers"].attempts == 3  # waiting
    capped = model_cache.LoadFailure(version="1.0.0", version_id=bad.pk, error="", at=0.0, attempts=12)
    assert capped.retry_at == 300.0

    newer = register("1.1.0", fail_warm_up=True)
    _make_active(newer)
    model_cache.activate(version=newer)

    assert (model_cache.failures()["answers"].version, model_cache.failures()["answers"].attempts) == ("1.1.0", 1)
