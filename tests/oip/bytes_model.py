"""An ONNX graph of strings: `same` = Identity(`text`), BYTES [-1] in and out."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper


def write_echo_bytes_onnx(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["text"], ["same"])],
        "echo",
        [helper.make_tensor_value_info("text", TensorProto.STRING, ["n"])],
        [helper.make_tensor_value_info("same", TensorProto.STRING, ["n"])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path
