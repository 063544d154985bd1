"""Signatures: read from an ONNX graph or derived from a skops estimator at registration, declared for a
pickle, compared at promotion: an incompatible version is refused (audited) unless forced."""

from __future__ import annotations

import json

import joblib
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from models_registry import services, signatures
from models_registry.models import ActivationEvent
from tests.oip.models import iris_pipeline, write_onnx, write_skops, write_skops_with_own_type

pytestmark = pytest.mark.django_db

X4 = {"name": "X", "datatype": "FP32", "shape": [-1, 4]}
LABEL = {"name": "label", "datatype": "INT64", "shape": [-1]}
PROBABILITIES = {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}


def register(tmp_path, version, *, features=4, runtime="onnx", **details):
    source = write_onnx(tmp_path / f"{version}.onnx", features=features)
    return services.model_version_register(
        model_name="iris", version=version, source=source, runtime=runtime, **details
    )


def test_an_onnx_version_records_its_graphs_signature(tmp_path):
    version = register(tmp_path, "1")

    assert version.io_signature == {"inputs": [X4], "outputs": [LABEL, PROBABILITIES]}


def test_a_declared_signature_that_contradicts_the_graph_is_refused(tmp_path):
    declared = {"inputs": [{**X4, "datatype": "FP64"}], "outputs": [LABEL, PROBABILITIES]}

    with pytest.raises(services.RegistryError) as refused:
        register(tmp_path, "1", io_signature=declared)

    assert "input X FP32 [-1, 4] became X FP64 [-1, 4]" in str(refused.value)


def test_a_skops_estimator_gets_a_derived_signature(tmp_path):
    version = services.model_version_register(
        model_name="iris-sk", version="1", source=write_skops(tmp_path / "m.skops"), runtime="sklearn"
    )

    assert version.io_signature == {
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [
            {"name": "predict", "datatype": "INT64", "shape": [-1]},
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 3]},
        ],
    }


def test_a_pickled_estimator_needs_a_declared_signature_and_is_not_opened(tmp_path):
    source = tmp_path / "m.pkl"
    joblib.dump(iris_pipeline(), source)

    with pytest.raises(services.RegistryError) as refused:
        services.model_version_register(model_name="iris-pk", version="1", source=source, runtime="sklearn")

    assert "a pickled estimator is not opened before it is trusted: declare its signature" in str(refused.value)


def test_a_pickled_estimator_loads_only_once_trusted(tmp_path):
    source = tmp_path / "m.pkl"
    joblib.dump(iris_pipeline(), source)
    declared = {
        "inputs": [{"name": "rows", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}],
    }
    version = services.model_version_register(
        model_name="iris-pk", version="1", source=source, runtime="sklearn", io_signature=declared
    )

    with pytest.raises(services.PromotionError, match="Refused to promote"):
        services.model_version_promote(version=version, actor="t")
    services.model_version_trust(version=version, actor="boss", reason="ours")
    services.model_version_promote(version=version, actor="t")

    assert version.io_signature == declared


def test_a_promotion_to_an_incompatible_signature_is_refused_and_audited(tmp_path):
    services.model_version_promote(version=register(tmp_path, "1"), actor="t")
    wider = register(tmp_path, "2", features=5)

    with pytest.raises(services.PromotionError) as refused:
        services.model_version_promote(version=wider, actor="alice")

    assert "input X FP32 [-1, 4] became X FP32 [-1, 5]" in str(refused.value)
    event = ActivationEvent.objects.get(action="gate_refused")
    assert (event.from_version.version, event.to_version.version) == ("1", "2")
    assert event.reason == "signature gate, for alice: input X FP32 [-1, 4] became X FP32 [-1, 5]"
    assert event.details == {"gate": "signature", "differences": ["input X FP32 [-1, 4] became X FP32 [-1, 5]"]}
    wider.model.refresh_from_db()
    assert wider.model.active_version.version == "1"


def test_a_forced_promotion_accepts_an_incompatible_signature(tmp_path):
    services.model_version_promote(version=register(tmp_path, "1"), actor="t")
    wider = register(tmp_path, "2", features=5)

    services.model_version_promote(version=wider, actor="t", force_signature=True)

    wider.model.refresh_from_db()
    assert wider.model.active_version.version == "2"


def test_activate_model_force_signature(tmp_path):
    services.model_version_promote(version=register(tmp_path, "1"), actor="t")
    register(tmp_path, "2", features=5)

    with pytest.raises(CommandError, match="incompatible with the active 1"):
        call_command("activate_model", "iris", "2")
    call_command("activate_model", "iris", "2", "--force-signature")


def test_upload_model_creates_a_model_of_any_runtime_with_a_declared_signature(tmp_path):
    source = tmp_path / "m.pkl"
    joblib.dump(iris_pipeline(), source)
    declared = {
        "inputs": [{"name": "rows", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "predict_proba", "datatype": "FP64", "shape": [-1, 3]}],
    }
    (tmp_path / "sig.json").write_text(json.dumps(declared))

    call_command(
        "upload_model", "brand-new", str(source), "--version", "1", "--runtime", "sklearn",
        "--io-signature", str(tmp_path / "sig.json"),
    )  # fmt: skip

    from models_registry.models import ModelVersion

    assert ModelVersion.objects.get(model__name="brand-new").io_signature == declared


@pytest.mark.parametrize(
    ("new", "problems"),
    [
        ({"inputs": [X4], "outputs": [LABEL, PROBABILITIES, {**LABEL, "name": "extra"}]}, []),
        ({"inputs": [{**X4, "shape": [-1, -1]}], "outputs": [LABEL, PROBABILITIES]}, []),
        ({"inputs": [X4], "outputs": [LABEL]}, ["output probabilities is gone"]),
        (
            {"inputs": [{**X4, "name": "rows"}], "outputs": [LABEL, PROBABILITIES]},
            ["input X is gone", "input rows FP32 [-1, 4] is new"],
        ),
        (
            {"inputs": [X4], "outputs": [LABEL, {**PROBABILITIES, "datatype": "FP64"}]},
            ["output probabilities FP32 [-1, 3] became probabilities FP64 [-1, 3]"],
        ),
    ],
)
def test_incompatibilities(new, problems):
    assert signatures.incompatibilities({"inputs": [X4], "outputs": [LABEL, PROBABILITIES]}, new) == problems


def test_a_skops_file_with_a_type_skops_does_not_trust_is_refused_naming_it(tmp_path):
    source = write_skops_with_own_type(tmp_path / "own.skops")

    with pytest.raises(services.RegistryError) as refused:
        services.model_version_register(model_name="own", version="1", source=source, runtime="sklearn")

    assert "the file holds types skops does not trust: tests.oip.models.Doubler" in str(refused.value)


def test_a_type_listed_at_registration_is_trusted_by_the_loader(tmp_path, client):
    source = write_skops_with_own_type(tmp_path / "own.skops")
    version = services.model_version_register(
        model_name="own",
        version="1",
        source=source,
        runtime="sklearn",
        metadata={"skops_trusted": ["tests.oip.models.Doubler"]},
    )
    services.model_version_promote(version=version, actor="t")
    body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}

    answer = client.post("/v2/models/own/infer", json.dumps(body), content_type="application/json").json()

    assert answer["outputs"][0] == {"name": "predict", "datatype": "INT64", "shape": [1], "data": [0]}


def test_an_onnx_golden_set_gates_its_promotion(tmp_path):
    version = register(tmp_path, "1")
    rows = [[5.1, 3.5, 1.4, 0.2]]
    request = {
        "inputs": [{"name": "X", "shape": [1, 4], "datatype": "FP32", "data": rows}],
        "outputs": [{"name": "label"}],
    }
    services.model_version_attach_golden(
        version=version, entries=[{"input": request, "expected": {"label": [2]}}], actor="t"
    )

    with pytest.raises(services.PromotionError, match="fails its golden set"):
        services.model_version_promote(version=version, actor="t")
    services.model_version_attach_golden(
        version=version, entries=[{"input": request, "expected": {"label": [0]}}], actor="t"
    )
    services.model_version_promote(version=version, actor="t")


def test_rows_an_estimator_refuses_are_a_400_naming_why(tmp_path, client):
    source = write_skops_with_own_type(tmp_path / "own.skops")
    metadata = {"skops_trusted": ["tests.oip.models.Doubler"]}
    version = services.model_version_register(
        model_name="own", version="1", source=source, runtime="sklearn", metadata=metadata
    )
    services.model_version_promote(version=version, actor="t")
    body = {"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP64", "data": [5.1, 3.5, 1.4]}]}

    response = client.post("/v2/models/own/infer", json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert "X has 3 features, but LogisticRegression is expecting 4 features as input." in response.json()["error"]
