"""The Open Inference Protocol's REST routes in process: the digits network, an ONNX graph and a skops
pipeline answer as running the same model directly does; a request the signature refuses is a 400 naming
the problem."""

from __future__ import annotations

import json
import struct

import numpy as np
import onnxruntime as ort
import pytest

from models_registry import services
from tests.factories import write_digit_npz
from tests.oip.models import ROWS, iris_pipeline, write_onnx, write_skops
from tests.wsgi import CountedInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def onnx_model(tmp_path):
    version = services.model_version_register(
        model_name="iris-onnx", version="1", source=write_onnx(tmp_path / "iris.onnx"), runtime="onnx"
    )
    services.model_version_promote(version=version, actor="t")
    return version


@pytest.fixture
def skops_model(tmp_path):
    version = services.model_version_register(
        model_name="iris-sk", version="1", source=write_skops(tmp_path / "iris.skops"), runtime="sklearn"
    )
    services.model_version_promote(version=version, actor="t")
    return version


def infer(client, name, body, **headers):
    return client.post(f"/v2/models/{name}/infer", data=body, content_type="application/json", **headers)


def rows_request(rows, **extra):
    return json.dumps(
        {"inputs": [{"name": "X", "shape": list(rows.shape), "datatype": "FP32", "data": rows.tolist()}], **extra}
    )


def test_the_digits_network_answers_a_batch_as_predict_does(client, digits):
    pixels = np.random.default_rng(3).random((2, 784)).astype(np.float32)
    body = {"id": "r1", "inputs": [{"name": "pixels", "shape": [2, 784], "datatype": "FP32", "data": pixels.tolist()}]}

    answer = infer(client, "digit_classifier", json.dumps(body)).json()

    single = [
        client.post("/predict", {"pixels": row.tolist()}, content_type="application/json").json() for row in pixels
    ]
    assert answer["model_name"] == "digit_classifier"
    assert answer["model_version"] == "1.0.0"
    assert answer["id"] == "r1"
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["probabilities"]["shape"] == [2, 10]
    assert outputs["probabilities"]["datatype"] == "FP64"
    np.testing.assert_allclose(
        np.reshape(outputs["probabilities"]["data"], (2, 10)), [s["probabilities"] for s in single], atol=1e-6
    )
    assert outputs["digit"]["data"] == [s["predicted_digit"] for s in single]


def test_model_metadata_is_the_graphs_signature(client, onnx_model):
    answer = client.get("/v2/models/iris-onnx").json()

    assert answer == {
        "name": "iris-onnx",
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        ],
    }


def test_an_onnx_graph_answers_as_onnxruntime(client, onnx_model, tmp_path):
    answer = infer(client, "iris-onnx", rows_request(ROWS[:5])).json()

    label, probabilities = ort.InferenceSession(str(write_onnx(tmp_path / "same.onnx"))).run(None, {"X": ROWS[:5]})
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["label"]["data"] == label.tolist()
    served = np.asarray(outputs["probabilities"]["data"], dtype=np.float32).reshape(5, 3)
    np.testing.assert_array_equal(served, probabilities)


def test_a_skops_pipeline_answers_as_predict_proba(client, skops_model):
    rows = ROWS[:4].astype(np.float64)
    body = {
        "inputs": [{"name": "input-0", "shape": [4, 4], "datatype": "FP64", "data": rows.reshape(-1).tolist()}],
        "outputs": [{"name": "predict_proba"}],
    }

    answer = infer(client, "iris-sk", json.dumps(body)).json()

    assert [o["name"] for o in answer["outputs"]] == ["predict_proba"]
    np.testing.assert_allclose(
        np.reshape(answer["outputs"][0]["data"], (4, 3)), iris_pipeline().predict_proba(rows), rtol=1e-12
    )


def test_binary_inputs_and_outputs_follow_the_json_header(client, onnx_model, tmp_path):
    rows = ROWS[:3]
    head = json.dumps(
        {
            "inputs": [{"name": "X", "shape": [3, 4], "datatype": "FP32", "parameters": {"binary_data_size": 48}}],
            "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}],
        }
    ).encode()

    response = client.post(
        "/v2/models/iris-onnx/infer",
        data=head + rows.tobytes(),
        content_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
    )

    length = int(response["Inference-Header-Content-Length"])
    header = json.loads(response.content[:length])
    assert header["outputs"][0]["parameters"] == {"binary_data_size": 36}
    _, probabilities = ort.InferenceSession(str(write_onnx(tmp_path / "same.onnx"))).run(None, {"X": rows})
    np.testing.assert_array_equal(np.frombuffer(response.content[length:], "<f4").reshape(3, 3), probabilities)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"name": "x"}, "input x is not one the model takes: X."),
        ({"datatype": "FP64"}, "input X is 'FP64'; the model takes FP32."),
        ({"shape": [1, 5]}, "input X has shape [1, 5]; the model takes [-1, 4] (-1: any size)."),
        ({"shape": [2, 4]}, "input X: data has 4 values; its shape takes 8."),
        ({"data": ["a", "b", "c", "d"]}, "input X: data must hold FP32 values only, not 'U'-kind values."),
    ],
)
def test_a_request_the_signature_refuses_is_a_400_naming_it(client, onnx_model, change, named):
    tensor = {"name": "X", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4], **change}

    response = infer(client, "iris-onnx", json.dumps({"inputs": [tensor]}))

    assert (response.status_code, response.json()) == (400, {"error": named})


def test_a_binary_size_that_does_not_match_the_shape_is_a_400(client, onnx_model):
    head = json.dumps(
        {"inputs": [{"name": "X", "shape": [2, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]}
    ).encode()

    response = client.post(
        "/v2/models/iris-onnx/infer",
        data=head + bytes(16),
        content_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
    )

    assert response.status_code == 400
    assert response.json() == {"error": "input X: binary_data_size is 16 bytes; its shape and FP32 take 32 bytes."}


def test_a_huge_declared_bytes_tensor_is_refused_before_allocation(client, tmp_path):
    from tests.oip.bytes_model import write_echo_bytes_onnx

    services.model_version_promote(
        version=services.model_version_register(
            model_name="echo", version="1", source=write_echo_bytes_onnx(tmp_path / "e.onnx"), runtime="onnx"
        ),
        actor="t",
    )
    head = json.dumps(
        {"inputs": [{"name": "text", "shape": [2**31 - 1], "datatype": "BYTES", "parameters": {"binary_data_size": 8}}]}
    ).encode()

    response = client.post(
        "/v2/models/echo/infer",
        data=head + struct.pack("<I", 4) + b"abcd",
        content_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
    )

    assert response.status_code == 400
    assert "cannot hold 2147483647 BYTES elements" in response.json()["error"]


def test_bytes_round_trip_through_json_and_binary(client, tmp_path):
    from tests.oip.bytes_model import write_echo_bytes_onnx

    services.model_version_promote(
        version=services.model_version_register(
            model_name="echo", version="1", source=write_echo_bytes_onnx(tmp_path / "e.onnx"), runtime="onnx"
        ),
        actor="t",
    )
    body = {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["héllo", "x"]}]}

    answer = infer(client, "echo", json.dumps(body)).json()

    assert answer["outputs"] == [{"name": "same", "datatype": "BYTES", "shape": [2], "data": ["héllo", "x"]}]


def test_an_unknown_model_is_a_404(client, db):
    response = client.get("/v2/models/nothing-here")

    assert (response.status_code, response.json()) == (404, {"error": "Unknown model 'nothing-here'."})


def test_a_version_not_served_here_is_a_404_naming_those_served(client, onnx_model):
    response = client.post(
        "/v2/models/iris-onnx/versions/7/infer", data=rows_request(ROWS[:1]), content_type="application/json"
    )

    assert (response.status_code, response.json()) == (
        404,
        {"error": "Version '7' of iris-onnx is not served here; served: 1."},
    )


def test_a_version_served_here_answers_by_its_number(client, onnx_model):
    response = client.post(
        "/v2/models/iris-onnx/versions/1/infer", data=rows_request(ROWS[:1]), content_type="application/json"
    )

    assert (response.status_code, response.json()["model_version"]) == (200, "1")


def test_server_routes(client, onnx_model):
    assert client.get("/v2").json() == {"name": "atlas", "version": "1.0.0", "extensions": ["binary_tensor_data"]}
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/models/iris-onnx/ready").json() == {"name": "iris-onnx", "ready": True}


def test_a_digits_version_of_another_file_keeps_the_same_signature(tmp_path):
    version = services.model_version_register(
        model_name="digit_classifier",
        version="9",
        source=write_digit_npz(tmp_path / "d.npz", seed=4),
        runtime="numpy_mlp",
    )

    assert version.io_signature["inputs"] == [{"name": "pixels", "datatype": "FP32", "shape": [-1, 784]}]


def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(client, onnx_model, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = infer(client, "iris-onnx", rows_request(ROWS[:40]))

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_v2_answers_are_counted_under_the_version_that_answered(client, digits):
    from tests.observability.test_metrics import samples, value

    body = {"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": [0.5] * 784}]}
    labels = {"model": "digit_classifier", "version": "1.0.0"}
    before = samples(client)

    for _ in range(2):
        assert infer(client, "digit_classifier", json.dumps(body)).status_code == 200
    bad = {"inputs": [{**body["inputs"][0], "data": [2.0] * 784}]}
    refused = infer(client, "digit_classifier", json.dumps(bad))

    after = samples(client)
    assert (refused.status_code, refused.json()) == (400, {"error": "pixels[0][0] is 2; values must be in 0..1."})
    for outcome, count in (("success", 2), ("client_error", 1)):
        counted = value(after, "atlas_predictions_total", outcome=outcome, **labels)
        assert counted - value(before, "atlas_predictions_total", outcome=outcome, **labels) == count


def test_an_infer_body_over_the_upload_limit_is_a_413_from_its_headers_before_a_byte_is_read(onnx_model, settings):
    from atlas.wsgi import application

    settings.ATLAS_MAX_UPLOAD_MB, settings.ATLAS_MAX_REQUEST_MB = 1, 25
    body, answered = CountedInput(), {}
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v2/models/iris-onnx/infer",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(2 * 1024 * 1024),
    }

    payload = b"".join(application(environ, lambda status, headers, *_: answered.update(status=status)))

    assert answered["status"].startswith("413")
    assert json.loads(payload) == {
        "detail": "The request body is 2,097,152 bytes; the limit is 1 MB (ATLAS_MAX_UPLOAD_MB).",
        "error": "too_large",
    }
    assert body.read_bytes == 0


def test_an_onnx_inference_that_finds_no_slow_slot_is_503_overloaded_and_never_runs(client, onnx_model, settings):
    from atlas import admission

    settings.ATLAS_SLOW_CONCURRENCY, settings.ATLAS_SLOW_WAIT_SECONDS = 1, 0.1

    with admission.slot("visual_detector"):  # the worker's one slow slot is busy
        response = infer(client, "iris-onnx", rows_request(ROWS[:2]))

    assert response.status_code == 503
    assert response.json()["error"] == "overloaded"
    assert response.json()["model"] == "iris-onnx"
    assert response["Retry-After"] == "1"


def test_the_digits_network_takes_no_slow_slot(client, digits, settings):
    from atlas import admission

    settings.ATLAS_SLOW_CONCURRENCY, settings.ATLAS_SLOW_WAIT_SECONDS = 1, 0.1
    body = {"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": [0.5] * 784}]}

    with admission.slot("visual_detector"):
        response = infer(client, "digit_classifier", json.dumps(body))

    assert response.status_code == 200
