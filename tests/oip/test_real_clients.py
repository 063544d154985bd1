"""Triton's own Python client against a served Atlas (the Procfile's server, two workers): liveness, model
metadata, and infer with JSON and with binary tensors, for an ONNX graph and a skops pipeline, answering as
running the same models directly; a promotion under V2 traffic reaches every worker without a failed
request; a canary splits V2 traffic by route key."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton

from inference.rollouts import choose_candidate
from models_registry import services
from models_registry.services import rollouts
from tests.oip.models import ROWS, iris_pipeline, write_onnx, write_skops
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def models(tmp_path):
    onnx_v1 = services.model_version_register(
        model_name="iris-onnx", version="1", source=write_onnx(tmp_path / "1.onnx"), runtime="onnx"
    )
    services.model_version_promote(version=onnx_v1, actor="t")
    skops_v1 = services.model_version_register(
        model_name="iris-sk", version="1", source=write_skops(tmp_path / "1.skops"), runtime="sklearn"
    )
    services.model_version_promote(version=skops_v1, actor="t")
    return tmp_path


@pytest.fixture
def replica(settings, start_replica, models):
    return start_replica(
        workers=2,
        env={
            "MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR),
            "ATLAS_RELOAD_POLL_SECONDS": "0.2",
            "ACCESS_LOG": "1",
        },
    )


@pytest.fixture
def client(replica):
    client = triton.InferenceServerClient(url=replica.url.removeprefix("http://"), network_timeout=30)
    yield client
    client.close()


def onnx_answer(path, rows):
    return ort.InferenceSession(str(path)).run(None, {"X": rows})


def iris_inputs(rows, *, name="X", datatype="FP32", binary=True):
    tensor = triton.InferInput(name, list(rows.shape), datatype)
    tensor.set_data_from_numpy(rows, binary_data=binary)
    return [tensor]


def test_the_server_is_live_and_ready_and_describes_the_model(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("iris-onnx")
    assert client.get_model_metadata("iris-onnx") == {
        "name": "iris-onnx",
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        ],
    }


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_onnx_infer_answers_as_onnxruntime(client, models, binary):
    rows = ROWS[10:40]
    outputs = [triton.InferRequestedOutput(name, binary_data=binary) for name in ("label", "probabilities")]

    result = client.infer("iris-onnx", iris_inputs(rows, binary=binary), outputs=outputs, request_id="q1")

    label, probabilities = onnx_answer(models / "1.onnx", rows)
    assert result.get_response()["model_version"] == "1"
    assert result.get_response()["id"] == "q1"
    np.testing.assert_array_equal(result.as_numpy("label"), label)
    np.testing.assert_array_equal(result.as_numpy("probabilities"), probabilities)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_skops_infer_answers_as_predict_proba(client, binary):
    rows = ROWS[:25].astype(np.float64)
    outputs = [triton.InferRequestedOutput("predict_proba", binary_data=binary)]

    result = client.infer("iris-sk", iris_inputs(rows, name="input-0", datatype="FP64", binary=binary), outputs=outputs)

    np.testing.assert_array_equal(result.as_numpy("predict_proba"), iris_pipeline().predict_proba(rows))


def test_a_bad_request_is_the_protocols_400(client):
    with pytest.raises(triton.InferenceServerException) as refused:
        client.infer("iris-onnx", iris_inputs(ROWS[:2, :3]))

    assert refused.value.status() == "400"
    assert refused.value.message() == "input X has shape [2, 3]; the model takes [-1, 4] (-1: any size)."


def test_a_promotion_under_v2_traffic_reaches_every_worker_without_a_failed_request(client, replica, models):
    v2 = services.model_version_register(
        model_name="iris-onnx", version="2", source=write_onnx(models / "2.onnx", c=0.01)
    )
    expected = {"1": onnx_answer(models / "1.onnx", ROWS)[1], "2": onnx_answer(models / "2.onnx", ROWS)[1]}
    failures: list[str] = []
    answered: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        own = triton.InferenceServerClient(url=replica.url.removeprefix("http://"), network_timeout=30)
        while not stop.is_set():
            try:
                result = own.infer("iris-onnx", iris_inputs(ROWS))
                version = result.get_response()["model_version"]
                if not np.array_equal(result.as_numpy("probabilities"), expected[version]):
                    failures.append(f"version {version} answered another model's probabilities")
                answered.append(version)
            except Exception as exc:  # noqa: BLE001 -- every failure is the finding
                failures.append(repr(exc))
        own.close()

    threads = [threading.Thread(target=traffic) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(answered) >= 20, timeout=30, what="V2 traffic on version 1")
        services.model_version_promote(version=v2, actor="t")
        seen = len(answered)

        def every_worker_on_2() -> bool:  # each worker's report, and the answers since
            reports = worker_versions("iris-onnx", replica.worker_pids())
            return len(reports) >= replica.workers and set(reports.values()) == {"2"} and answered[-10:] == ["2"] * 10

        wait_until(every_worker_on_2, timeout=30, interval=0.1, what="every worker serving version 2")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert failures == []
    assert answered[:seen].count("1") >= 20
    assert set(answered) == {"1", "2"}


def test_a_canary_splits_v2_traffic_by_route_key(client, replica, models):
    candidate = services.model_version_register(
        model_name="iris-onnx", version="2", source=write_onnx(models / "2.onnx", c=0.01)
    )
    rollout = rollouts.rollout_start(model=candidate.model, candidate=candidate, mode="canary", percent=50, actor="t")
    keys = [f"user-{i}" for i in range(24)]
    chosen = {k for k in keys if choose_candidate(rollout_id=rollout.pk, percent=50, key=k)}

    def version_for(key: str) -> str:
        result = client.infer("iris-onnx", iris_inputs(ROWS[:1]), headers={"X-Atlas-Route-Key": key})
        return result.get_response()["model_version"]

    def split_by_key() -> bool:
        answers = {k: version_for(k) for k in keys}
        return {k for k, v in answers.items() if v == "2"} == chosen

    wait_until(split_by_key, timeout=30, interval=0.1, what="the canary loaded on every worker")

    answers = [(k, version_for(k)) for k in keys * 3]
    assert {k for k, v in answers if v == "2"} == chosen
    assert {k for k, v in answers if v == "1"} == set(keys) - chosen
    assert 0 < len(chosen) < len(keys)


# KServe's client lives in its own virtualenv (kserve==0.21.0 would downgrade protobuf in the shared one):
# ATLAS_TEST_KSERVE_PYTHON names its python: `make test` builds it from requirements-kserve.txt and sets it.
KSERVE_PYTHON = os.environ.get("ATLAS_TEST_KSERVE_PYTHON", "")
PROBE = Path(__file__).with_name("kserve_probe.py")


@pytest.mark.skipif(not KSERVE_PYTHON, reason="ATLAS_TEST_KSERVE_PYTHON (a python with kserve==0.21.0) is not set")
def test_kserves_client_infers_with_json_and_binary_tensors(replica, models):
    rows = ROWS[50:60]
    np.save(models / "rows.npy", rows)

    probe = subprocess.run(
        [KSERVE_PYTHON, str(PROBE), replica.url, "iris-onnx", str(models / "rows.npy")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    found = json.loads(probe.stdout)
    expected = onnx_answer(models / "1.onnx", rows)[1]
    assert (found["live"], found["ready"], found["model_ready"]) == (True, True, True)
    for kind in ("json", "binary"):
        assert (found[kind]["model_name"], found[kind]["id"]) == ("iris-onnx", "k1")
        np.testing.assert_array_equal(np.asarray(found[kind]["probabilities"], dtype=np.float32), expected)
