from __future__ import annotations

import json
from pathlib import Path

import pytest

from models_registry import services


@pytest.fixture(autouse=True)
def json_runtime(settings):
    settings.ATLAS_RUNTIMES = {
        **settings.ATLAS_RUNTIMES,
        "json_answer": "tests.registry.json_runtime.load",
    }
    return "json_answer"


@pytest.fixture
def artifact(tmp_path):
    """Write an answer file and return its path."""

    def make(answer: object, name: str = "model.json", **extra: object) -> Path:
        path = tmp_path / f"{answer}-{name}"
        path.write_text(json.dumps({"answer": answer, **extra}))
        return path

    return make


@pytest.fixture
def register(artifact):
    """Register version `version` of model `answers` whose predictor answers `answer`."""

    def make(version: str, answer: object = None, model: str = "answers", **extra: object):
        return services.model_version_register(
            model_name=model,
            version=version,
            source=artifact(answer if answer is not None else version, **extra),
            runtime="json_answer",
            actor="tester",
        )

    return make
