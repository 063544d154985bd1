"""The V2 request parser alone (inference/v2_codec.py): what a client can put in a shape or in JSON data never
becomes a 500, and integers are held to their datatype's range instead of wrapping."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.v2_codec import V2Error, parse_infer


def signature(datatype: str, shape: list[int]) -> dict:
    return {
        "inputs": [{"name": "x", "datatype": datatype, "shape": shape}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}],
    }


def request(shape: list[int], data: list, datatype: str = "FP64") -> bytes:
    return json.dumps({"inputs": [{"name": "x", "shape": shape, "datatype": datatype, "data": data}]}).encode()


@pytest.mark.parametrize("shape", [[0, 18446744073709551615], [0, 2**62, 2**62], [2**31, 0]])
def test_a_size_past_any_array_is_a_400_naming_the_input(shape):
    sig = signature("FP64", [-1] * len(shape))

    with pytest.raises(V2Error, match="input x: "):
        parse_infer(request(shape, []), None, sig)


def test_an_empty_batch_within_bounds_is_accepted():
    parsed = parse_infer(request([0, 4], []), None, signature("FP64", [-1, 4]))

    assert parsed.inputs["x"].shape == (0, 4)


@pytest.mark.parametrize("datatype", ["UINT8", "UINT16", "UINT32", "UINT64"])
def test_json_integers_reach_an_unsigned_input(datatype):
    parsed = parse_infer(request([3], [0, 1, 255], datatype), None, signature(datatype, [-1]))

    assert parsed.inputs["x"].tolist() == [0, 1, 255]
    assert parsed.inputs["x"].dtype == np.dtype(datatype.lower())


@pytest.mark.parametrize(("datatype", "data"), [("INT8", [300]), ("UINT8", [-1]), ("UINT8", [256]), ("INT16", [40000])])
def test_an_integer_out_of_its_datatypes_range_is_a_400_not_wrapped(datatype, data):
    with pytest.raises(V2Error, match=f"does not fit {datatype}"):
        parse_infer(request([1], data, datatype), None, signature(datatype, [-1]))


def test_inputs_an_onnx_graph_refuses_at_run_time_are_a_tensor_input_error(tmp_path):
    # Given a graph whose input has free sizes (so the signature lets any width through) but multiplies by a 4x3
    from onnx import TensorProto, helper, numpy_helper

    from inference.runtimes import onnx as onnx_runtime
    from inference.runtimes.tensors import TensorInputError

    weights = numpy_helper.from_array(np.ones((4, 3), dtype=np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "matmul.onnx"
    path.write_bytes(model.SerializeToString())
    predictor = onnx_runtime.load(path, metadata={})

    # When it is asked with a width of 5, then the refusal is the client's (a 400), not a 500
    with pytest.raises(TensorInputError, match="The model cannot run on these inputs: .*MatMul"):
        predictor.infer({"x": np.ones((1, 5), dtype=np.float32)}, ["y"])
