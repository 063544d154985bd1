"""The old MNIST service's paths (/v1/predict, /v1/activations, /mnist/samples, /models, /openapi.json,
/redoc) answer from the same views as Atlas's, with FastAPI's error shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.digits_data import bundled_split
from inference.training.digits import train_digit_classifier
from inference.training.mlp import TrainConfig
from models_registry import services

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def trained_network(tmp_path_factory):
    run = train_digit_classifier(dest=tmp_path_factory.mktemp("hippo") / "digit_classifier.npz", config=TrainConfig())
    return run


@pytest.fixture
def active_digits(trained_network):
    version = services.model_version_register(
        model_name="digit_classifier",
        version="2.0.0",
        source=trained_network.path,
        runtime="numpy_mlp",
        metrics=trained_network.metrics,
        metadata=trained_network.metadata,
        actor="tester",
    )
    services.model_version_promote(version=version, actor="tester")
    return version


def post(client, path, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def test_v1_predict_answers_what_predict_answers(client, active_digits):
    pixels = bundled_split().x_test[0].astype(float).tolist()

    old, new = post(client, "/v1/predict", {"pixels": pixels}), post(client, "/predict", {"pixels": pixels})

    assert old.status_code == new.status_code == 200
    assert old.json() == new.json()
    assert {"predicted_digit", "confidence", "probabilities"} <= set(old.json())


def test_v1_activations_answers_one_list_per_layer(client, active_digits):
    response = post(client, "/v1/activations", {"pixels": [0.5] * 784})

    assert response.status_code == 200
    assert [len(layer) for layer in response.json()["activations"]] == response.json()["layer_sizes"] == [784, 100, 10]


@pytest.mark.parametrize(
    ("body", "loc", "kind", "error"),
    [
        ({"pixels": [0.5] * 3}, ["body", "pixels"], "too_short", "wrong_length"),
        ({"pixels": [0.5] * 785}, ["body", "pixels"], "too_long", "wrong_length"),
        ({"pixel": [0.5] * 784}, ["body", "pixels"], "missing", "missing_pixels"),
        ({"pixels": [0.5] * 783 + ["x"]}, ["body", "pixels", 783], "float_type", "invalid_pixels"),
        ({"pixels": [0.5] * 10 + [2.0] + [0.5] * 773}, ["body", "pixels", 10], "value_error", "out_of_range"),
        ("{not json", ["body"], "json_invalid", "invalid_json"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/predict", "/v1/activations"])
def test_bad_input_on_the_old_paths_is_a_fastapi_422(client, active_digits, path, body, loc, kind, error):
    response = post(client, path, body)

    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail", "error"} and body["error"] == error
    [item] = body["detail"]
    assert (item["loc"], item["type"]) == (loc, kind)
    assert isinstance(item["msg"], str) and item["msg"]


def test_atlas_paths_keep_their_own_400(client, active_digits):
    response = post(client, "/predict", {"pixels": [0.5] * 3})

    assert response.status_code == 400
    assert response.json()["error"] == "wrong_length"


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/activations"])
def test_no_model_on_the_old_paths_is_a_503_with_a_detail(client, path):
    response = post(client, path, {"pixels": [0.5] * 784})

    assert response.status_code == 503
    assert response.json()["detail"].startswith("No model loaded. No active version of 'digit_classifier'")
    assert response.json()["error"] == "model_unavailable"


@pytest.mark.parametrize("dataset", ["train", "validation", "test"])
def test_mnist_samples_serves_the_three_splits_of_the_old_service(client, dataset):
    response = client.get("/mnist/samples", {"count": 3, "dataset": dataset})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and len(body["samples"]) == 3
    for sample in body["samples"]:
        assert len(sample["pixels"]) == 784 and 0 <= min(sample["pixels"]) <= max(sample["pixels"]) <= 1
        assert sample["label"] in range(10)


def test_mnist_samples_validation_digits_are_held_out_digits(client):
    x_test = bundled_split().x_test.astype(np.float64).round(4)

    response = client.get("/mnist/samples", {"count": 5, "dataset": "validation", "seed": 1})

    for sample in response.json()["samples"]:
        assert (np.abs(x_test - np.array(sample["pixels"])).max(axis=1) < 1e-9).any()


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ({"count": 0}, 400, "count is 0; ask for 1 to 100 samples."),
        ({"count": 101}, 400, "count is 101; ask for 1 to 100 samples."),
        ({"dataset": "holdout"}, 400, "dataset is 'holdout'; use train, validation or test."),
    ],
)
def test_bad_sample_queries_answer_as_the_old_service_did(client, query, status, detail):
    response = client.get("/mnist/samples", query)

    assert response.status_code == status
    assert response.json()["detail"] == detail


def test_a_count_that_is_not_a_number_is_a_fastapi_422_naming_the_query_parameter(client):
    response = client.get("/mnist/samples", {"count": "ten"})

    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert (item["loc"], item["type"]) == (["query", "count"], "int_parsing")


def test_models_lists_the_digit_versions_their_accuracy_and_the_active_one(client, active_digits, trained_network):
    services.model_version_register(
        model_name="digit_classifier", version="2.1.0", source=trained_network.path, actor="tester"
    )

    response = client.get("/models")

    assert response.status_code == 200
    body = response.json()
    assert body["active"] == "2.0.0"
    assert [(m["name"], m["active"]) for m in body["models"]] == [("2.1.0", False), ("2.0.0", True)]
    assert body["models"][1]["accuracy"] == trained_network.accuracy
    assert body["models"][1]["architecture"] == [784, 100, 10]


def test_models_is_empty_before_any_digit_model_is_registered(client):
    response = client.get("/models")

    assert response.json() == {"models": [], "active": None, "model": "digit_classifier"}


def test_openapi_json_is_the_schema_in_json(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "/v1/predict" in response.json()["paths"]


def test_redoc_is_a_page_pointing_at_the_schema(client):
    response = client.get("/redoc")

    assert response.status_code == 200
    assert b"redoc" in response.content.lower() and b"/api/schema/" in response.content
