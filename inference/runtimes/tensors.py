"""What the tensor runtimes (onnx, sklearn, and numpy_mlp's V2 face) share: the protocol's datatypes as NumPy
dtypes, and a made-up input for a warm-up."""

from __future__ import annotations

from typing import Any

import numpy as np

from models_registry.signatures import Tensor

# The Open Inference Protocol's datatypes -> NumPy (little-endian, as the binary extension carries them).
# BYTES are object arrays of `bytes`.
NUMPY_TYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": np.dtype(object),
}


class TensorInputError(ValueError):
    """Values a model cannot take (out of its range, not finite): the client's fault, a 400 naming it."""


def datatype_of(dtype: np.dtype[Any]) -> str:
    """The protocol's datatype of a NumPy dtype (strings and objects are BYTES)."""
    if dtype.kind in "OUS":
        return "BYTES"
    for name, candidate in NUMPY_TYPES.items():
        if candidate.kind == dtype.kind and candidate.itemsize == dtype.itemsize:
            return name
    raise ValueError(f"NumPy dtype {dtype} has no Open Inference Protocol datatype")


def zeros_for(tensor: Tensor) -> np.ndarray:
    """A zero input of the tensor's datatype and shape, free sizes as 1."""
    shape = tuple(1 if d == -1 else d for d in tensor["shape"])
    if tensor["datatype"] == "BYTES":
        return np.full(shape, "", dtype=object)
    return np.zeros(shape, dtype=NUMPY_TYPES[tensor["datatype"]])
