"""ATLAS_SERVE_MODELS in the process: what a replica that leaves a model out does with it."""

from __future__ import annotations

import json

import pytest

from inference import model_cache, served_models
from inference.runtimes import threat_rules
from models_registry import services
from tests.factories import write_digit_npz

pytestmark = pytest.mark.django_db


@pytest.fixture
def both_active(tmp_path):
    digits = services.model_version_register(
        model_name="digit_classifier",
        version="1.0.0",
        source=write_digit_npz(tmp_path / "d.npz", seed=1),
        runtime="numpy_mlp",
    )
    services.model_version_promote(version=digits, actor="test")
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(threat_rules.extended_taxonomy()))
    threat = services.model_version_register(
        model_name="threat_classifier", version="1.0.0", source=path, runtime="threat_rules", actor="test"
    )
    services.model_version_promote(version=threat, actor="test")
    model_cache.clear()  # the promotions' own swaps (on commit) are not what is tested


def test_preload_loads_only_the_served_models(settings, both_active):
    settings.ATLAS_SERVE_MODELS = ["threat_classifier"]

    assert model_cache.preload() == {"threat_classifier": "1.0.0"}
    assert set(model_cache.snapshot()) == {"threat_classifier"}


def test_get_of_a_model_not_served_raises_without_loading(settings, both_active):
    settings.ATLAS_SERVE_MODELS = ["threat_classifier"]

    with pytest.raises(model_cache.ModelNotServed, match=r"This replica does not serve 'digit_classifier'"):
        model_cache.get("digit_classifier")
    assert model_cache.snapshot() == {}


def test_healthz_of_a_replica_that_does_not_serve_the_digits_says_so(settings, client, both_active):
    settings.ATLAS_SERVE_MODELS = ["threat_classifier"]

    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (
        503,
        {
            "status": "not_served",
            "network_loaded": False,
            "database_connected": True,
            "model": "digit_classifier",
            "version": None,
            "detail": (
                "This replica does not serve 'digit_classifier' (ATLAS_SERVE_MODELS=threat_classifier); "
                "send the request to a replica that serves it."
            ),
        },
    )


def test_unset_serves_every_model(settings):
    settings.ATLAS_SERVE_MODELS = []

    assert served_models.serves("visual_detector") is True


def test_an_alias_names_its_model(settings):
    settings.ATLAS_SERVE_MODELS = ["yolov8m"]
    settings.ATLAS_MODEL_ALIASES = {"yolov8m": "visual_detector"}

    assert (served_models.serves("visual_detector"), served_models.serves("digit_classifier")) == (True, False)


def test_a_leading_minus_leaves_a_model_out_and_serves_every_other_even_one_registered_later(settings):
    settings.ATLAS_SERVE_MODELS = ["-visual_detector", "-sait_audio_classifier"]
    settings.ATLAS_MODEL_ALIASES = {"sait_audio_classifier": "audio_classifier"}

    assert [served_models.serves(n) for n in ("visual_detector", "audio_classifier", "digit_classifier", "iris")] == [
        False,
        False,
        True,
        True,
    ]


def test_names_that_match_no_registered_model_are_reported(settings, both_active):
    settings.ATLAS_SERVE_MODELS = ["digit_classifier", "yolov8m", "digits"]
    settings.ATLAS_MODEL_ALIASES = {"yolov8m": "threat_classifier"}

    assert served_models.unknown_names() == ["digits"]
