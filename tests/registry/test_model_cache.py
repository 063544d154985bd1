"""The process-local model cache: swaps, failures that keep the old version serving, reports."""

from __future__ import annotations

import os
import socket

import pytest

from inference import model_cache
from models_registry import artifact_cache, services
from models_registry.models import RegisteredModel, WorkerReport

pytestmark = pytest.mark.django_db


def test_a_model_with_no_active_version_is_unavailable_with_a_reason(register):
    register("1.0.0")

    with pytest.raises(model_cache.ModelUnavailable, match="No active version of 'answers'"):
        model_cache.get("answers")


def test_the_first_request_loads_the_active_version_and_reports_it(register):
    version = register("1.0.0", answer="a")
    services.model_version_promote(version=version, actor="t")

    loaded = model_cache.get("answers")

    assert (loaded.version, loaded.sha256, loaded.predictor.predict()) == ("1.0.0", version.sha256, "a")
    report = WorkerReport.objects.get(host=socket.gethostname(), pid=os.getpid())
    assert (report.version_id, report.last_error) == (version.pk, "")


def test_a_worker_that_cannot_load_the_new_version_keeps_serving_the_old_and_says_why(register, settings):
    old, new = register("1.0.0", answer="old"), register("2.0.0", answer="new")
    services.model_version_promote(version=old, actor="t")
    model_cache.get("answers")
    services.model_version_promote(version=new, actor="t")  # verified by the promoting process
    # This worker's fetch finds other bytes: the store was tampered with after promotion.
    artifact_cache.drop(sha256=new.sha256, fmt=new.format)
    (settings.MODEL_STORE_DIR / new.location).write_text('{"answer": "tampered"}')

    result = model_cache.activate(version=RegisteredModel.objects.get(name="answers").active_version)

    assert result is None
    assert model_cache.get("answers").predictor.predict() == "old"
    report = WorkerReport.objects.get(host=socket.gethostname(), pid=os.getpid())
    assert report.version_id == old.pk
    assert "sha256 mismatch" in report.last_error


def test_activate_with_a_warmed_predictor_swaps_without_loading_again(register):
    first, second = register("1.0.0", answer=1), register("2.0.0", answer=2)
    services.model_version_promote(version=first, actor="t")
    model_cache.get("answers")
    predictor = services.model_version_prepare(version=second)

    loaded = model_cache.activate(version=second, predictor=predictor)

    assert loaded.predictor is predictor
    assert model_cache.get("answers").version == "2.0.0"


def test_requests_do_not_refetch_a_broken_active_version_within_the_back_off(register, settings):
    version = register("1.0.0", answer="ok")
    services.model_version_promote(version=version, actor="t")
    artifact_cache.drop(sha256=version.sha256, fmt=version.format)
    stored = settings.MODEL_STORE_DIR / version.location
    good = stored.read_bytes()
    stored.write_bytes(good.replace(b"ok", b"no"))
    with pytest.raises(model_cache.ModelUnavailable, match="sha256 mismatch"):
        model_cache.get("answers")
    stored.write_bytes(good)  # the store is fixed; a fetch now would succeed

    with pytest.raises(model_cache.ModelUnavailable, match="sha256 mismatch"):
        model_cache.get("answers")


def test_a_reload_of_a_version_no_longer_active_does_not_replace_the_newer_one(register):
    first, second = register("1.0.0", answer=1), register("2.0.0", answer=2)
    services.model_version_promote(version=first, actor="t")
    services.model_version_promote(version=second, actor="t")
    model_cache.get("answers")  # serves 2.0.0

    # A listener that read "1.0.0 is active" before the second promotion gets the lock only now
    result = model_cache.activate(version=first)

    assert result.version == "2.0.0"
    assert model_cache.get("answers").version == "2.0.0"
