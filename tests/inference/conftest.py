"""Fixtures of the inference tests: the demo audio classifier, trained once per session and promoted
through the real registry."""

from __future__ import annotations

import pytest

from inference.demo import audio as demo_audio
from models_registry import services


@pytest.fixture(scope="session")
def audio_demo(tmp_path_factory):
    return demo_audio.build(tmp_path_factory.mktemp("audio"), clips_per_class=40)


@pytest.fixture
def promote_audio(audio_demo, django_capture_on_commit_callbacks):
    """Register the demo audio network as `audio_classifier` `version` and promote it (its on-commit
    reload run here)."""

    def promote(version: str):
        registered = services.model_version_register(
            model_name="audio_classifier",
            version=version,
            source=audio_demo.path,
            runtime="audio_mlp",
            metadata=audio_demo.metadata,
            metrics=audio_demo.metrics,
            actor="t",
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_promote(version=registered, actor="t")
        return registered

    return promote
