"""The MNIST endpoints, served from a version registered and promoted through the registry's services."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from inference import model_cache
from inference.digits_data import bundled_split
from inference.runtimes.numpy_mlp import read_npz
from inference.training.digits import train_digit_classifier
from inference.training.mlp import TrainConfig
from models_registry import services

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def trained_network(tmp_path_factory):
    """A digit network trained once per session with the defaults (about a second)."""
    run = train_digit_classifier(dest=tmp_path_factory.mktemp("digits") / "digit_classifier.npz", config=TrainConfig())
    return run.path


@pytest.fixture
def active_digits(trained_network):
    version = services.model_version_register(
        model_name="digit_classifier",
        version="3.1.4",
        source=trained_network,
        runtime="numpy_mlp",
        actor="tester",
    )
    services.model_version_promote(version=version, actor="tester")
    return version


def post(client, path, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def grey_image():
    return [0.5] * 784


def test_predict_answers_probabilities_model_and_version(client, active_digits):
    response = post(client, "/predict", {"pixels": grey_image()})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"predicted_digit", "confidence", "probabilities", "model", "version"}
    assert (body["model"], body["version"]) == ("digit_classifier", "3.1.4")
    assert len(body["probabilities"]) == 10
    assert abs(sum(body["probabilities"]) - 1) < 1e-6
    assert body["predicted_digit"] == int(np.argmax(body["probabilities"]))
    assert body["confidence"] == max(body["probabilities"])


def test_predict_recognises_a_real_mnist_test_digit(client, active_digits):
    x_test, y_test = bundled_split().part("test")
    digit = {"pixels": np.round(x_test[0].astype(float), 4).tolist()}

    response = post(client, "/predict", digit)

    assert response.status_code == 200
    assert response.json()["predicted_digit"] == int(y_test[0])


def test_predict_gives_what_the_saved_file_gives(client, active_digits, trained_network):
    x_test, _ = bundled_split().part("test")
    pixels = x_test[:5].astype(float)
    expected = read_npz(trained_network).predict_batch(pixels)

    answers = [post(client, "/predict", {"pixels": row.tolist()}).json()["probabilities"] for row in pixels]

    np.testing.assert_allclose(answers, expected, atol=1e-6)


def test_activations_answers_every_layer_input_included(client, active_digits):
    pixels = grey_image()

    response = post(client, "/activations", {"pixels": pixels})

    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"], body["layer_sizes"]) == (
        "digit_classifier",
        "3.1.4",
        [784, 100, 10],
    )
    assert [len(layer) for layer in body["activations"]] == [784, 100, 10]
    assert body["activations"][0] == pixels
    assert min(body["activations"][1]) >= 0  # relu
    assert abs(sum(body["activations"][-1]) - 1) < 1e-6


NOT_784 = [0.5] * 783
BAD_INPUTS = [
    pytest.param({"pixels": NOT_784}, "wrong_length", '"pixels" has 783 values; expected 784', id="too-short"),
    pytest.param({"pixels": NOT_784 + [0.1, 0.2]}, "wrong_length", '"pixels" has 785 values', id="too-long"),
    pytest.param({"pixels": [*NOT_784, "a"]}, "invalid_pixels", 'pixels[783] is "a"', id="string"),
    pytest.param({"pixels": [None, *NOT_784]}, "invalid_pixels", "pixels[0] is null", id="null"),
    pytest.param({"pixels": [*NOT_784[:10], True, *NOT_784[10:]]}, "invalid_pixels", "pixels[10] is true", id="bool"),
    pytest.param({"pixels": [[0.5]] * 784}, "invalid_pixels", "pixels[0] is [0.5]", id="nested"),
    pytest.param('{"pixels": [NaN' + ", 0.5" * 783 + "]}", "invalid_pixels", "pixels[0] is nan", id="nan"),
    pytest.param('{"pixels": [0.5, Infinity' + ", 0.5" * 782 + "]}", "invalid_pixels", "pixels[1] is inf", id="inf"),
    pytest.param(
        {"pixels": [*NOT_784, 1.5]},
        "out_of_range",
        "pixels[783] is 1.5; values must be between 0 and 1",
        id="above-1",
    ),
    pytest.param({"pixels": [-0.1, *NOT_784]}, "out_of_range", "pixels[0] is -0.1", id="negative"),
    pytest.param({"pixels": [10**30, *NOT_784]}, "out_of_range", "pixels[0] is 1e+30", id="huge"),
    pytest.param({"pixel": grey_image()}, "missing_pixels", 'a "pixels" key', id="missing-key"),
    pytest.param([0.5] * 784, "missing_pixels", "JSON object", id="bare-list"),
    pytest.param({"pixels": "0.5,0.5"}, "invalid_pixels", "not str", id="pixels-not-a-list"),
    pytest.param("pixels=0.5", "invalid_json", "The body is not JSON", id="not-json"),
    pytest.param(b"\xff\xfe", "invalid_json", "The body is not JSON", id="not-utf8"),
    pytest.param("", "invalid_json", "The body is not JSON", id="empty"),
]


@pytest.mark.parametrize("path", ["/predict", "/activations"])
@pytest.mark.parametrize(("body", "error", "detail"), BAD_INPUTS)
def test_bad_input_is_a_400_naming_the_problem(client, active_digits, path, body, error, detail):
    response = post(client, path, body)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert detail in response.json()["detail"]


def test_bad_input_is_refused_before_looking_for_a_model(client):
    response = post(client, "/predict", {"pixels": NOT_784})

    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/predict", "/activations"])
def test_no_active_version_is_a_503(client, trained_network, path):
    services.model_version_register(
        model_name="digit_classifier", version="1.0.0", source=trained_network, runtime="numpy_mlp", actor="t"
    )  # registered, never promoted

    response = post(client, path, {"pixels": grey_image()})

    assert response.status_code == 503
    why = response.json()["error"]
    assert why.startswith("No active version of 'digit_classifier'")
    # Hippo's clients read `detail` ("No model loaded. ..." as Hippo worded it); Atlas's keys stay
    assert response.json() == {"error": why, "model": "digit_classifier", "detail": f"No model loaded. {why}"}


def test_healthz_is_healthy_with_an_active_version(client, active_digits):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "network_loaded": True,
        "database_connected": True,
        "model": "digit_classifier",
        "version": None,  # not loaded in this process yet; it can be, on the next request
    }


def test_healthz_loads_nothing(client, active_digits):
    client.get("/healthz")

    assert model_cache.snapshot() == {}


def test_healthz_names_the_version_this_process_serves(client, active_digits):
    post(client, "/predict", {"pixels": grey_image()})

    response = client.get("/healthz")

    assert response.status_code == 200
    assert (response.json()["network_loaded"], response.json()["version"]) == (True, "3.1.4")


def test_healthz_is_a_503_without_an_active_version(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert (response.json()["network_loaded"], response.json()["database_connected"]) == (False, True)


def test_samples_are_real_held_out_digits(client):
    x_test, y_test = bundled_split().part("test")
    rows = {tuple(np.round(x.astype(float), 4)): int(label) for x, label in zip(x_test, y_test, strict=True)}

    response = client.get("/api/v1/samples", {"count": 5, "dataset": "test"})

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["dataset"], len(body["samples"])) == (5, "test", 5)
    for sample in body["samples"]:
        assert len(sample["pixels"]) == 784
        assert rows[tuple(sample["pixels"])] == sample["label"]


def test_samples_of_the_train_split_are_not_held_out_digits(client):
    x_test, _ = bundled_split().part("test")
    held_out = {tuple(np.round(x.astype(float), 4)) for x in x_test}

    response = client.get("/api/v1/samples", {"count": 20, "dataset": "train"})

    assert response.status_code == 200
    assert not any(tuple(s["pixels"]) in held_out for s in response.json()["samples"])


def test_samples_default_to_ten_test_digits(client):
    body = client.get("/api/v1/samples").json()

    assert (body["count"], body["dataset"], len(body["samples"])) == (10, "test", 10)


def test_samples_with_a_seed_are_the_same_digits_again(client):
    first = client.get("/api/v1/samples", {"count": 3, "seed": 11}).json()
    second = client.get("/api/v1/samples", {"count": 3, "seed": 11}).json()

    assert first == second


@pytest.mark.parametrize(
    ("query", "status", "error", "detail"),
    [
        ({"count": 0}, 422, "count_out_of_range", "count is 0; ask for 1 to 100 samples"),
        ({"count": 101}, 422, "count_out_of_range", "count is 101"),
        ({"count": "ten"}, 400, "invalid_parameter", "count and seed must be whole numbers"),
        ({"dataset": "holdout"}, 400, "invalid_dataset", "dataset is 'holdout'; use train, validation or test"),
        ({"seed": -1}, 400, "invalid_parameter", "seed must be 0 or more"),
    ],
)
def test_bad_sample_queries_are_refused_with_a_reason(client, query, status, error, detail):
    response = client.get("/api/v1/samples", query)

    assert response.status_code == status
    assert response.json() == {"error": error, "detail": response.json()["detail"]}
    assert detail in response.json()["detail"]


def test_the_schema_documents_the_digit_endpoints(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert {"/predict", "/activations", "/healthz", "/api/v1/samples"} <= set(paths)
    # 408: a body that stops arriving; 413: over ATLAS_MAX_REQUEST_MB
    assert set(paths["/predict"]["post"]["responses"]) == {"200", "400", "408", "413", "503"}


def test_predict_reads_json_whatever_the_content_type_says(client, active_digits):
    response = client.post("/predict", data=json.dumps({"pixels": grey_image()}), content_type="text/plain")

    assert response.status_code == 200
    assert response.json()["version"] == "3.1.4"


def test_predict_answers_json_whatever_the_client_accepts(client, active_digits):
    response = client.post(
        "/predict",
        data=json.dumps({"pixels": grey_image()}),
        content_type="application/json",
        HTTP_ACCEPT="text/html",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_absurdly_nested_json_is_a_400_not_a_crash(client):
    response = client.post("/predict", data="[" * 100_000 + "]" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_a_body_over_the_request_limit_is_a_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = client.post("/predict", data={"pixels": [0.5] * 784}, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_prediction_touches_no_database_once_the_model_is_loaded(client, active_digits, django_assert_num_queries):
    post(client, "/predict", {"pixels": grey_image()})  # the first request of this process loads the model

    with django_assert_num_queries(0):
        response = post(client, "/predict", {"pixels": grey_image()})

    assert response.status_code == 200


# --- binary bodies ---------------------------------------------------------------------------------


def npy(array, *, pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=pickle)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("application/octet-stream", lambda pixels: pixels.astype("<f4").tobytes()),
        ("application/x-npy", lambda pixels: npy(pixels.astype(np.float32).reshape(28, 28))),
    ],
    ids=["raw-float32", "npy"],
)
@pytest.mark.parametrize("path", ["/predict", "/activations", "/v1/predict"])
def test_a_binary_body_gives_the_same_answer_as_json(client, active_digits, content_type, encode, path):
    x_test, _ = bundled_split().part("test")
    pixels = x_test[0].astype(np.float32)

    as_json = post(client, path, {"pixels": pixels.astype(float).tolist()})
    as_binary = client.post(path, data=encode(pixels), content_type=content_type)

    assert as_binary.status_code == 200
    assert as_binary.json() == as_json.json()


def huge_npy_header() -> bytes:
    """Only the header of a .npy that declares 2**40 float64 values (8 TB): refused before any allocation."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)})
    return buffer.getvalue()


BAD_BINARY = [
    pytest.param("application/octet-stream", b"\0" * 3135, "wrong_length", "not 3135 bytes", id="raw-short"),
    pytest.param(
        "application/octet-stream",
        np.full(784, np.nan, dtype="<f4").tobytes(),
        "invalid_pixels",
        "pixels[0] is nan",
        id="raw-nan",
    ),
    pytest.param(
        "application/octet-stream", np.full(784, 2, dtype="<f4").tobytes(), "out_of_range", "pixels[0] is 2", id="raw-2"
    ),
    pytest.param("application/x-npy", b"not an npy file", "invalid_pixels", "not a .npy array", id="npy-garbage"),
    pytest.param("application/x-npy", npy(np.zeros(10)), "wrong_length", "has 10 values", id="npy-short"),
    pytest.param(
        "application/x-npy", huge_npy_header(), "wrong_length", "has 1099511627776 values", id="npy-huge-shape"
    ),
    pytest.param(
        "application/x-npy", npy(np.array(["a"] * 784)), "invalid_pixels", "must hold numbers", id="npy-strings"
    ),
    pytest.param(
        "application/x-npy",
        npy(np.array([{}] * 784, dtype=object), pickle=True),
        "invalid_pixels",
        "must hold numbers",
        id="npy-pickle",
    ),
]


@pytest.mark.parametrize(("content_type", "body", "error", "detail"), BAD_BINARY)
def test_a_bad_binary_body_is_a_400_naming_the_problem(client, active_digits, content_type, body, error, detail):
    response = client.post("/predict", data=body, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert detail in response.json()["detail"]
