"""Fixtures shared by the whole suite. Server fixtures (SeaweedFS, the hub-compatible server,
gunicorn) live in tests/servers/ and are registered here as plugins."""

from __future__ import annotations

import uuid

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

pytest_plugins: list[str] = ["tests.servers.storage_fixtures", "tests.servers.task_worker", "tests.rollouts.fixtures"]


@pytest.fixture(autouse=True)
def _own_folders(settings, tmp_path):
    """Each test gets its own artifact store and cache folders."""
    settings.MODEL_STORE_DIR = tmp_path / "store"
    settings.MODEL_CACHE_DIR = tmp_path / "cache"


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    """Each test starts with nothing loaded in this process (the database is rolled back between tests)."""
    from inference import model_cache

    model_cache.clear()
    yield
    model_cache.clear()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Each test starts with no request counted against the rate limits: a key prefix of its own in Django's
    cache (the database's by default, whose rows a transactional test leaves behind)."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture
def digits(tmp_path):
    """digit_classifier 1.0.0 (numpy_mlp, a small network from tests.factories) registered and active."""
    from models_registry import services
    from tests.factories import write_digit_npz

    version = services.model_version_register(
        model_name="digit_classifier",
        version="1.0.0",
        source=write_digit_npz(tmp_path / "d.npz", seed=1),
        runtime="numpy_mlp",
        actor="tester",
    )
    services.model_version_promote(version=version, actor="tester")
    return version


@pytest.fixture
def start_replica(tmp_path):
    """Start Atlas as the Procfile does, or under gunicorn by name (stopped after the test):
    start_replica(workers=3, env={...}, server="procfile" | "gunicorn" | "plain-gunicorn", settings={...})."""
    from tests.servers.gunicorn import Replica

    started: list[Replica] = []

    def start(
        *,
        workers: int = 3,
        env: dict[str, str] | None = None,
        name: str | None = None,
        server: str = "procfile",
        settings: dict[str, object] | None = None,
    ) -> Replica:
        folder = tmp_path / (name or f"replica-{len(started)}")
        replica = Replica(folder=folder, workers=workers, env=env or {}, server=server, settings=settings)
        started.append(replica)
        return replica.start()

    yield start
    for replica in started:
        replica.stop()


@pytest.fixture
def keep_the_test_connection():
    """As Django's test client does: a request through the real handler must not close the test's
    database connection (close_old_connections on request_started/finished)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def django_requests():
    """How many requests went through Django's handler (request_started)."""
    seen: list[int] = []

    def count(**kwargs):
        seen.append(1)

    request_started.connect(count)
    yield seen
    request_started.disconnect(count)
