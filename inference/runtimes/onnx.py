"""Runtime `onnx`: any ONNX graph, through onnxruntime (CPU), one InferenceSession per loaded version.

The signature is the graph's own: every input and output is a tensor whose element type maps to an Open
Inference Protocol datatype and whose symbolic or unknown sizes are free (-1). A graph with an output that
is not a tensor (skl2onnx's ZipMap: a sequence of maps) is refused at registration with the fix. A declared
signature must say what the graph says. Threads: `settings.ATLAS_ONNX_THREADS` intra-op threads per session
(one inter-op thread), so that the workers of a replica share the cores instead of each taking all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from django.conf import settings
from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument

from models_registry.signatures import Signature, Tensor, incompatibilities

from .tensors import TensorInputError, zeros_for

# onnxruntime's element types -> the protocol's datatypes
ONNX_TYPES = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


def _tensor(arg: Any, part: str) -> Tensor:
    datatype = ONNX_TYPES.get(arg.type)
    if datatype is None:
        hint = " (skl2onnx: convert with options={'zipmap': False})" if arg.type.startswith("seq(map") else ""
        raise ValueError(f"{part} {arg.name} is {arg.type}, not a tensor this runtime serves{hint}.")
    shape = [d if isinstance(d, int) and d >= 0 else -1 for d in (arg.shape or [])]
    return {"name": arg.name, "datatype": datatype, "shape": shape}


def _as_text(values: np.ndarray) -> np.ndarray:
    flat = [v.decode(errors="replace") if isinstance(v, bytes) else v for v in values.reshape(-1)]
    return np.array(flat, dtype=object).reshape(values.shape)


class OnnxPredictor:
    """A loaded ONNX graph: `infer(inputs, outputs)` runs the session on named arrays."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self._signature: Signature = {
            "inputs": [_tensor(arg, "input") for arg in session.get_inputs()],
            "outputs": [_tensor(arg, "output") for arg in session.get_outputs()],
        }

    @property
    def signature(self) -> Signature:
        return self._signature

    def infer(self, inputs: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]:
        # onnxruntime's string tensors take str: BYTES arrive as bytes (UTF-8)
        feed = {k: _as_text(v) if v.dtype == object else v for k, v in inputs.items()}
        try:
            results = self.session.run(outputs, feed)
        except (InvalidArgument, Fail) as exc:  # inputs the signature let through (free sizes) the graph refuses
            raise TensorInputError(f"The model cannot run on these inputs: {_first_line(exc)}") from None
        return {name: np.asarray(value) for name, value in zip(outputs, results, strict=True)}

    def warm_up(self) -> None:
        """One pass on zeros, free sizes as 1."""
        self.infer(
            {t["name"]: zeros_for(t) for t in self._signature["inputs"]},
            [t["name"] for t in self._signature["outputs"]],
        )


def _first_line(exc: Exception) -> str:
    """onnxruntime's message without the log line it repeats after it."""
    return str(exc).split("\x1b")[0].strip()


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.ATLAS_ONNX_THREADS
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own errors (InvalidGraph, InvalidProtobuf, Fail)
        raise ValueError(f"{Path(path).name} is not an ONNX graph onnxruntime can run: {exc}") from exc


def load(path: Path, *, metadata: dict[str, Any]) -> OnnxPredictor:
    """The runtime loader (settings.ATLAS_RUNTIMES["onnx"])."""
    return OnnxPredictor(_session(path))


def signature(path: Path, *, metadata: dict[str, Any], declared: Signature | None) -> Signature:
    """The graph's signature; a declared one must say the same."""
    found = OnnxPredictor(_session(path)).signature
    if declared is not None:
        differences = incompatibilities(found, declared) + incompatibilities(declared, found)
        if differences:
            raise ValueError(f"the declared signature differs from the graph's: {'; '.join(differences)}")
    return found
