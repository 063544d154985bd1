"""A promotion committed while a worker preloads does not crash the worker (issue 9, case 2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from inference import model_cache
from models_registry import services
from models_registry.models import RegisteredModel
from tests.registry import json_runtime

pytestmark = pytest.mark.django_db

# Run (once) by the next load: what another process commits while this worker is loading.
_during_next_load: list[Callable[[], None]] = []


def load_and_let_others_commit(path: Path, *, metadata: dict) -> json_runtime.AnswerPredictor:
    while _during_next_load:
        _during_next_load.pop()()
    return json_runtime.load(path, metadata=metadata)


@pytest.fixture
def hooked_runtime(settings):
    settings.ATLAS_RUNTIMES = {**settings.ATLAS_RUNTIMES, "hooked": f"{__name__}.load_and_let_others_commit"}
    yield "hooked"
    _during_next_load.clear()


def _active(artifact, model: str, version: str):
    registered = services.model_version_register(
        model_name=model, version=version, source=artifact(f"{model}-{version}"), runtime="hooked", actor="t"
    )
    RegisteredModel.objects.filter(name=model).update(active_version=registered)
    return registered


def test_a_promotion_committed_while_preloading_leaves_the_superseded_model_to_the_listener(hooked_runtime, artifact):
    # Given two models with active versions (preload takes them by model name: alpha, then beta)
    _active(artifact, "alpha", "1.0.0")
    _active(artifact, "beta", "1.0.0")
    beta_2 = services.model_version_register(
        model_name="beta", version="2.0.0", source=artifact("beta-2.0.0"), actor="t"
    )
    model_cache.mark_serving()

    # When beta 2.0.0 becomes active (in another process) while the worker loads alpha, before beta
    _during_next_load.append(lambda: RegisteredModel.objects.filter(name="beta").update(active_version=beta_2))
    outcome = model_cache.preload()

    # Then preload returns without error: alpha served, beta left for the listener's next sync
    assert outcome == {"alpha": "1.0.0", "beta": "superseded by a newer promotion"}
    assert model_cache.loaded_version_ids() == {"alpha": RegisteredModel.objects.get(name="alpha").active_version_id}
