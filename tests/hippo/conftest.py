from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _forget_bootstrap_outcome():
    """The Hub bootstrap keeps its last outcome per process (for /healthz); no test sees another's."""
    from models_registry.compat import bootstrap

    yield
    bootstrap.forget_outcome()
