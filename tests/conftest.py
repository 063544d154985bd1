"""Fixtures shared by the whole suite. Server fixtures (SeaweedFS, the hub-compatible server,
gunicorn) live in tests/servers/ and are registered here as plugins."""

from __future__ import annotations

import pytest

pytest_plugins: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    """Each test starts with nothing loaded in this process (the database is rolled back between tests)."""
    from inference import model_cache

    model_cache.clear()
    yield
    model_cache.clear()
