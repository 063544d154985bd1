"""A version's signature: the tensors it takes and gives, as the Open Inference Protocol names them.

    {"inputs":  [{"name": "pixels", "datatype": "FP32", "shape": [-1, 784]}],
     "outputs": [{"name": "probabilities", "datatype": "FP64", "shape": [-1, 10]}, ...]}

Datatypes are the protocol's (Triton's) names; -1 is a free dimension. A runtime reads the signature from the
artifact where the format carries it (ONNX) or derives it (scikit-learn, the digits network); otherwise it is
declared at registration. `incompatibilities(old, new)` says why clients of `old` would break on `new`:
promotions refuse such a version unless forced.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Tensor(TypedDict):
    name: str
    datatype: str
    shape: list[int]


class Signature(TypedDict):
    inputs: list[Tensor]
    outputs: list[Tensor]


DATATYPES = (
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
)
MAX_TENSORS = 64
MAX_RANK = 16


class SignatureError(ValueError):
    """A signature that is not well formed, or that contradicts the artifact."""


def _tensor(value: Any, where: str) -> Tensor:
    if not isinstance(value, dict) or set(value) - {"name", "datatype", "shape"}:
        raise SignatureError(f'{where} must be an object of "name", "datatype" and "shape".')
    name, datatype, shape = value.get("name"), value.get("datatype"), value.get("shape")
    if not isinstance(name, str) or not 0 < len(name) <= 128:
        raise SignatureError(f"{where} needs a name of 1-128 characters.")
    if datatype not in DATATYPES:
        raise SignatureError(f"{where} ({name}) has datatype {datatype!r}; use one of {', '.join(DATATYPES)}.")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_RANK
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in shape)
    ):
        raise SignatureError(f"{where} ({name}) needs a shape: a list of at most {MAX_RANK} sizes, -1 for free.")
    return {"name": name, "datatype": datatype, "shape": list(shape)}


def validate(value: Any) -> Signature:
    """The signature, checked for shape; SignatureError names the first problem."""
    if not isinstance(value, dict) or set(value) != {"inputs", "outputs"}:
        raise SignatureError('A signature is {"inputs": [tensors], "outputs": [tensors]}.')
    checked: dict[str, list[Tensor]] = {}
    for part in ("inputs", "outputs"):
        tensors = value[part]
        if not isinstance(tensors, list) or not 0 < len(tensors) <= MAX_TENSORS:
            raise SignatureError(f"{part} must be a list of 1 to {MAX_TENSORS} tensors.")
        checked[part] = [_tensor(t, f"{part}[{i}]") for i, t in enumerate(tensors)]
        names = [t["name"] for t in checked[part]]
        if len(set(names)) != len(names):
            raise SignatureError(f"{part} names a tensor twice: {names}.")
    return {"inputs": checked["inputs"], "outputs": checked["outputs"]}


def describe(tensor: Tensor) -> str:
    return f"{tensor['name']} {tensor['datatype']} {tensor['shape']}"


def _accepts(old: list[int], new: list[int]) -> bool:
    """A request shaped for `old` fits `new`: the same rank, each size the same or free in `new`."""
    return len(old) == len(new) and all(n in (o, -1) for o, n in zip(old, new, strict=True))


def incompatibilities(old: Signature | dict[str, Any], new: Signature | dict[str, Any]) -> list[str]:
    """Why clients of `old` would break on `new` (empty: compatible). Inputs must keep their names and
    datatypes and accept the same shapes; every output of `old` must stay, with its datatype and shape;
    `new` may add outputs. A version without a signature is compared with nothing."""
    if not old or not new:
        return []
    problems: list[str] = []
    old_in = {t["name"]: t for t in old["inputs"]}
    new_in = {t["name"]: t for t in new["inputs"]}
    for name in sorted(old_in.keys() - new_in.keys()):
        problems.append(f"input {name} is gone")
    for name in sorted(new_in.keys() - old_in.keys()):
        problems.append(f"input {describe(new_in[name])} is new")
    for name in sorted(old_in.keys() & new_in.keys()):
        was, now = old_in[name], new_in[name]
        if was["datatype"] != now["datatype"] or not _accepts(was["shape"], now["shape"]):
            problems.append(f"input {describe(was)} became {describe(now)}")
    new_out = {t["name"]: t for t in new["outputs"]}
    for was in old["outputs"]:
        now_out = new_out.get(was["name"])
        if now_out is None:
            problems.append(f"output {was['name']} is gone")
        elif now_out["datatype"] != was["datatype"] or not _accepts(now_out["shape"], was["shape"]):
            problems.append(f"output {describe(was)} became {describe(now_out)}")
    return problems
