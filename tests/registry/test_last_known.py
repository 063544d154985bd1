"""The last known active version of each model, beside the verified cache (issue 29 §2): written when a
worker serves a version, read back as what to load while the registry is unreachable, bytes verified."""

from __future__ import annotations

import pytest

from inference import model_cache
from models_registry import artifact_cache, last_known, services
from models_registry.models import RegisteredModel

pytestmark = pytest.mark.django_db


def test_serving_an_active_version_records_it_as_the_last_known_one(register):
    # Given 1.0.0 then 2.0.0 promoted and served here
    for number in ("1.0.0", "2.0.0"):
        version = register(number, answer=number)
        services.model_version_promote(version=version, actor="t")
        model_cache.activate(version=version)

    # When the last known versions are read back, then 2.0.0 is, with what its load needs
    (pointer,) = last_known.versions()
    active = RegisteredModel.objects.get(name="answers").active_version
    assert (pointer.model.name, pointer.model.runtime, pointer.pk, pointer.sha256, pointer.format) == (
        "answers",
        "json_answer",
        active.pk,
        active.sha256,
        "json",
    )
    assert sorted(p.name for p in (artifact_cache.cache_dir() / ".pointers").iterdir()) == ["answers.json"]


def test_a_last_known_version_is_loaded_from_the_cache_and_marked_so(register):
    # Given a version served here, then a fresh process (nothing loaded, nothing verified)
    version = register("1.0.0", answer="a")
    services.model_version_promote(version=version, actor="t")
    model_cache.get("answers")
    model_cache.clear()
    artifact_cache.forget_verifications()

    # When the last known version is activated (the registry unreachable)
    (pointer,) = last_known.versions()
    loaded = model_cache.activate(version=pointer, from_last_known=True)

    # Then it serves, marked as loaded from the pointer (so the listener reloads it from the registry later)
    assert loaded is not None
    assert (loaded.version, loaded.predictor.predict(), loaded.from_last_known) == ("1.0.0", "a", True)
    assert model_cache.loaded_version_ids() == {"answers": None}


def test_a_last_known_version_whose_cached_bytes_changed_is_never_loaded(register, settings):
    # Given a version served here, whose cached file was then altered and whose stored copy is gone
    version = register("1.0.0", answer="a")
    services.model_version_promote(version=version, actor="t")
    model_cache.get("answers")
    model_cache.clear()
    artifact_cache.forget_verifications()
    (cached,) = [entry.path for entry in artifact_cache.entries()]
    cached.write_text('{"answer": "tampered"}')
    for stored in settings.MODEL_STORE_DIR.rglob("*.json"):
        stored.unlink()

    # When the last known version is activated, then nothing is loaded and the failure is recorded
    (pointer,) = last_known.versions()
    assert model_cache.activate(version=pointer, from_last_known=True) is None
    assert model_cache.snapshot() == {}
    assert "1.0.0" in model_cache.failures()["answers"].error
