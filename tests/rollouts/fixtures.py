"""Versions for the rollout tests: a stable active one, a good candidate, a faulty candidate."""

from __future__ import annotations

import pytest

from models_registry import services
from tests.factories import write_digit_npz
from tests.rollouts.networks import write_faulty_npz

MODEL = "digit_classifier"


@pytest.fixture
def stable(tmp_path):
    version = services.model_version_register(
        model_name=MODEL, version="1.0.0", source=write_digit_npz(tmp_path / "s.npz", seed=1), runtime="numpy_mlp"
    )
    services.model_version_promote(version=version, actor="test")
    version.model.refresh_from_db()
    return version


@pytest.fixture
def candidate(stable, tmp_path):
    return services.model_version_register(
        model_name=MODEL, version="2.0.0", source=write_digit_npz(tmp_path / "c.npz", seed=2)
    )


@pytest.fixture
def faulty(stable, tmp_path):
    return services.model_version_register(
        model_name=MODEL, version="2.0.0-faulty", source=write_faulty_npz(tmp_path / "f.npz")
    )
