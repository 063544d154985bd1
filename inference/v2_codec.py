"""The Open Inference Protocol's infer body, in and out, with Triton's binary tensor data extension.

A request is JSON (`{"id", "parameters", "inputs": [{"name", "shape", "datatype", "data" | "parameters":
{"binary_data_size"}}], "outputs": [{"name", "parameters": {"binary_data"}}]}`), or, with the header
`Inference-Header-Content-Length: N`, N bytes of such JSON followed by the binary inputs in order (each
`binary_data_size` bytes: little-endian values, or for BYTES a 4-byte little-endian length before each
element). Every input is checked against the version's signature with NumPy: an unknown or missing name,
another datatype, a shape the signature does not accept, or a byte count that does not match the shape is a
V2Error naming it (a 400). Sizes come from the JSON header and are checked before any array is made.

An answer carries each output as JSON `data` (flattened, row-major), or as binary after the JSON when the
output asks `binary_data` (or the request `binary_data_output`), with `binary_data_size` and the response
header `Inference-Header-Content-Length`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from inference.runtimes.tensors import NUMPY_TYPES
from models_registry.signatures import Signature, Tensor

HEADER = "Inference-Header-Content-Length"


class V2Error(Exception):
    """A request the protocol refuses: 400 with {"error": message}."""


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: dict[str, np.ndarray]
    outputs: list[tuple[str, bool]]  # (name, answered binary)


def _json_part(body: bytes, header_length: str | None) -> tuple[Any, memoryview]:
    size = len(body)
    if header_length is None:
        split = size
    else:
        try:
            split = int(header_length)
        except ValueError:
            raise V2Error(f"{HEADER} is {header_length!r}, not a number of bytes.") from None
        if not 0 < split <= size:
            raise V2Error(f"{HEADER} is {split}; the body has {size} bytes.")
    try:
        payload = orjson.loads(memoryview(body)[:split])
    except orjson.JSONDecodeError as exc:
        raise V2Error(f"The inference request is not JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise V2Error('The inference request must be a JSON object with "inputs".')
    return payload, memoryview(body)[split:]


# The largest size of one dimension (a signed 32-bit count, as Triton takes it): larger ones describe no array
# a body could carry, and NumPy refuses them with errors of its own.
MAX_DIMENSION = 2**31 - 1


def _shape(value: Any, name: str, expected: Tensor) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_DIMENSION for d in value
    ):
        raise V2Error(f"input {name}: shape must be a list of sizes (whole numbers, 0 to {MAX_DIMENSION}).")
    wanted = expected["shape"]
    if len(value) != len(wanted) or any(w not in (-1, d) for w, d in zip(wanted, value, strict=True)):
        raise V2Error(f"input {name} has shape {value}; the model takes {wanted} (-1: any size).")
    return tuple(value)


def _bytes_elements(raw: memoryview, count: int, name: str) -> np.ndarray:
    """BYTES in the binary extension: each element a 4-byte little-endian length, then that many bytes."""
    if count * 4 > len(raw):  # before allocating: every element takes at least its 4-byte length
        raise V2Error(f"input {name}: {len(raw)} bytes of binary data cannot hold {count} BYTES elements.")
    values = np.empty(count, dtype=object)
    offset = 0
    for i in range(count):
        if offset + 4 > len(raw):
            raise V2Error(f"input {name}: its binary data ends before element {i} of {count}.")
        length = int.from_bytes(raw[offset : offset + 4], "little")
        offset += 4
        if offset + length > len(raw):
            raise V2Error(f"input {name}: element {i} claims {length} bytes past the end of its binary data.")
        values[i] = bytes(raw[offset : offset + length])
        offset += length
    if offset != len(raw):
        raise V2Error(f"input {name}: {len(raw) - offset} bytes of binary data left after its {count} elements.")
    return values


def _from_binary(raw: memoryview, name: str, datatype: str, count: int) -> np.ndarray:
    if datatype == "BYTES":
        return _bytes_elements(raw, count, name)
    dtype = NUMPY_TYPES[datatype]
    if len(raw) != count * dtype.itemsize:
        raise V2Error(
            f"input {name}: binary_data_size is {len(raw)} bytes; its shape and {datatype} take "
            f"{count * dtype.itemsize} bytes."
        )
    return np.frombuffer(raw, dtype=dtype)


_NUMERIC_KINDS = {"b": "b", "u": "iu", "i": "iu", "f": "iuf"}


def _from_json(data: Any, name: str, datatype: str, count: int) -> np.ndarray:
    if not isinstance(data, list):
        raise V2Error(f"input {name}: data must be a list (flat or nested, row-major).")
    try:
        values = np.asarray(data, dtype=object if datatype == "BYTES" else None)
    except ValueError:
        raise V2Error(f"input {name}: data is nested unevenly.") from None
    if values.size != count:
        raise V2Error(f"input {name}: data has {values.size} values; its shape takes {count}.")
    flat = values.reshape(-1)
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise V2Error(f"input {name}: BYTES data in JSON must be strings.")
        return np.array([v.encode() for v in flat], dtype=object)
    dtype = NUMPY_TYPES[datatype]
    if count and flat.dtype.kind not in _NUMERIC_KINDS[dtype.kind]:
        raise V2Error(f"input {name}: data must hold {datatype} values only, not {flat.dtype.kind!r}-kind values.")
    if count and dtype.kind in "iu":  # JSON integers arrive as int64: held to the datatype's range, never wrapped
        info = np.iinfo(dtype)
        if flat.min() < info.min or flat.max() > info.max:
            raise V2Error(f"input {name}: data does not fit {datatype} (from {info.min} to {info.max}).")
        return flat.astype(dtype, casting="unsafe")
    try:
        return flat.astype(dtype, casting="unsafe" if dtype.kind == "f" else "same_kind")
    except (TypeError, OverflowError) as exc:
        raise V2Error(f"input {name}: data does not fit {datatype}: {exc}.") from None


def _parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise V2Error(f"{where}: parameters must be an object.")
    return value


def parse_infer(body: bytes, header_length: str | None, signature: Signature) -> InferRequest:
    """The request's inputs as arrays of the signature's shapes and datatypes; V2Error naming a problem."""
    payload, binary = _json_part(body, header_length)
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise V2Error("id must be a string.")
    binary_out = _parameters(payload.get("parameters"), "request").get("binary_data_output") is True
    expected = {t["name"]: t for t in signature["inputs"]}
    raw_inputs = payload.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise V2Error('The request needs "inputs": a list of {"name", "shape", "datatype", "data"}.')
    inputs: dict[str, np.ndarray] = {}
    offset = 0
    for index, raw in enumerate(raw_inputs):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise V2Error(f'inputs[{index}] must be an object with a "name".')
        name = raw["name"]
        tensor = expected.get(name)
        if tensor is None:
            raise V2Error(f"input {name} is not one the model takes: {', '.join(expected)}.")
        if name in inputs:
            raise V2Error(f"input {name} is given twice.")
        if raw.get("datatype") != tensor["datatype"]:
            raise V2Error(f"input {name} is {raw.get('datatype')!r}; the model takes {tensor['datatype']}.")
        shape = _shape(raw.get("shape"), name, tensor)
        count = math.prod(shape)
        size = _parameters(raw.get("parameters"), f"input {name}").get("binary_data_size")
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise V2Error(f"input {name}: binary_data_size must be a number of bytes.")
            if offset + size > len(binary):
                raise V2Error(f"input {name}: binary_data_size {size} runs past the body's binary data.")
            array = _from_binary(binary[offset : offset + size], name, tensor["datatype"], count)
            offset += size
        elif "data" in raw:
            array = _from_json(raw["data"], name, tensor["datatype"], count)
        else:
            raise V2Error(f'input {name} has neither "data" nor a binary_data_size parameter.')
        try:
            inputs[name] = array.reshape(shape)
        except (ValueError, OverflowError) as exc:  # a shape NumPy cannot make, even of no elements
            raise V2Error(f"input {name}: shape {list(shape)} cannot hold its data ({exc}).") from None
    if offset != len(binary):
        raise V2Error(f"{len(binary) - offset} bytes of binary data follow the inputs that no input claims.")
    missing = [name for name in expected if name not in inputs]
    if missing:
        raise V2Error(f"input {', '.join(missing)} missing; the model takes {', '.join(expected)}.")
    return InferRequest(id=request_id, inputs=inputs, outputs=_requested(payload, signature, binary_out))


def _requested(payload: dict[str, Any], signature: Signature, binary_out: bool) -> list[tuple[str, bool]]:
    known = [t["name"] for t in signature["outputs"]]
    raw_outputs = payload.get("outputs")
    if raw_outputs is None:
        return [(name, binary_out) for name in known]
    if not isinstance(raw_outputs, list):
        raise V2Error('"outputs" must be a list of {"name"}.')
    chosen: list[tuple[str, bool]] = []
    for index, raw in enumerate(raw_outputs):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise V2Error(f'outputs[{index}] must be an object with a "name".')
        if raw["name"] not in known:
            raise V2Error(f"output {raw['name']} is not one the model gives: {', '.join(known)}.")
        binary = _parameters(raw.get("parameters"), f"output {raw['name']}").get("binary_data", binary_out)
        chosen.append((raw["name"], binary is True))
    return chosen


def _as_datatype(array: np.ndarray, datatype: str) -> np.ndarray:
    if datatype == "BYTES":
        return np.array([v if isinstance(v, bytes) else str(v).encode() for v in array.reshape(-1)], dtype=object)
    return np.ascontiguousarray(array, dtype=NUMPY_TYPES[datatype])


def _binary(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        return b"".join(len(v).to_bytes(4, "little") + v for v in array.reshape(-1))
    return array.tobytes()


def _json_data(array: np.ndarray, datatype: str) -> Any:
    if datatype == "BYTES":
        return [v.decode(errors="replace") for v in array.reshape(-1)]
    if datatype == "FP16":
        return array.reshape(-1).astype(np.float32)
    return array.reshape(-1)


def encode_answer(
    *,
    model_name: str,
    model_version: str,
    request_id: str | None,
    outputs: list[tuple[str, bool]],
    results: dict[str, np.ndarray],
    signature: Signature,
) -> tuple[bytes, int | None]:
    """(body, the JSON part's length when binary outputs follow it, else None)."""
    datatypes = {t["name"]: t["datatype"] for t in signature["outputs"]}
    answer: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request_id is not None:
        answer["id"] = request_id
    tensors: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, binary in outputs:
        datatype = datatypes[name]
        array = _as_datatype(results[name], datatype)
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(results[name].shape)}
        if binary:
            chunk = _binary(array, datatype)
            tensor["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            tensor["data"] = _json_data(array, datatype)
        tensors.append(tensor)
    answer["outputs"] = tensors
    head = orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return head, None
    return b"".join([head, *chunks]), len(head)
