"""Runtime `numpy_mlp`: the MNIST network of the service Atlas replaces, in its own .npz format.

The file (written with `np.savez`) holds:
    sizes        int array, e.g. [784, 100, 10]: input, hidden layers, output
    activation   0-d string array: the hidden layers' activation (relu, sigmoid, tanh, ...)
    weight_i     float array (sizes[i+1], sizes[i]), for i in 0..len(sizes)-2: the old service's layout
                 (its forward pass is `w @ a + b` on column vectors)
    bias_i       float array of sizes[i+1] values ((n,), (1, n) or (n, 1))
    layout       optional 0-d string: "out_in" (the default, the layout above) or "in_out", which declares
                 every weight_i as (sizes[i], sizes[i+1]) instead

The orientation follows the file format, never the matrix shape: a square layer ([784, 64, 64, 10]) cannot
tell its orientation by itself, so guessing served such networks silently wrong. A weight whose shape is not
the one the file's sizes and layout call for is refused. `write_npz` writes the old service's layout, so a
file Atlas trains is a file the old service (and its clients' tools) read unchanged.

Hidden layers use the activation; the output layer uses softmax. (The old service applied the hidden
activation to the output too, so a ReLU network answered "probabilities" above 1.)
The file is read with allow_pickle=False; a file that does not match its own `sizes` is refused with
a ValueError naming the problem.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models_registry.signatures import Signature

from .tensors import TensorInputError

INPUT_SIZE = 784
OUTPUT_SIZE = 10


def _relu(z: np.ndarray) -> np.ndarray:
    np.maximum(z, 0, out=z)  # in place: `out=z` is z (numpy's stubs type the result Any)
    return z


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-z)), computed in place; exp overflow to inf gives the right limit (0).
    with np.errstate(over="ignore"):
        np.negative(z, out=z)
        np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)
    return z


def _tanh(z: np.ndarray) -> np.ndarray:
    np.tanh(z, out=z)
    return z


def _leaky_relu(z: np.ndarray) -> np.ndarray:
    np.maximum(z, z * 0.01, out=z)
    return z


def _identity(z: np.ndarray) -> np.ndarray:
    return z


# In-place activations of the hidden layers, by the name stored in the file.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "leaky_relu": _leaky_relu,
    "linear": _identity,
}


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64 so that the 10 probabilities sum to 1 within 1e-12."""
    z = z.astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


class DigitPredictor:
    """A loaded MNIST MLP: float32 weights, hidden activation, softmax output."""

    def __init__(self, *, sizes: list[int], activation: str, weights: list[np.ndarray], biases: list[np.ndarray]):
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; this runtime knows {', '.join(sorted(ACTIVATIONS))}.")
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self._act = ACTIVATIONS[activation]
        self.weights = tuple(np.ascontiguousarray(w, dtype=np.float32) for w in weights)
        self.biases = tuple(np.ascontiguousarray(b, dtype=np.float32).reshape(-1) for b in biases)
        self._hidden = tuple(zip(self.weights[:-1], self.biases[:-1], strict=True))
        self._out = (self.weights[-1], self.biases[-1])

    @property
    def input_size(self) -> int:
        return self.sizes[0]

    def _logits(self, x: np.ndarray, keep: list[np.ndarray] | None = None) -> np.ndarray:
        a = x
        for w, b in self._hidden:
            a = a @ w
            a += b
            a = self._act(a)
            if keep is not None:
                keep.append(a)
        w, b = self._out
        z = a @ w
        z += b
        return z

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (10,) float64 for one float32 image of 784 values in 0..1. FloatingPointError
        when the network overflows on this input: an error of the version, never NaN in an answer."""
        probabilities = softmax(self._logits(x))
        if not np.isfinite(probabilities).all():
            raise FloatingPointError("the network's output is not finite for this input (float32 overflow)")
        return probabilities

    def predict_batch(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (n, 10) for n images (n, 784)."""
        return softmax(self._logits(np.asarray(x, dtype=np.float32)))

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's output for one image: the input, each hidden layer, the softmax output."""
        layers: list[np.ndarray] = [x]
        layers.append(softmax(self._logits(x, keep=layers)))
        return layers

    @property
    def signature(self) -> Signature:
        """Its face on the Open Inference Protocol: rows of pixels in, probabilities and the digit out."""
        return {
            "inputs": [{"name": "pixels", "datatype": "FP32", "shape": [-1, self.sizes[0]]}],
            "outputs": [
                {"name": "probabilities", "datatype": "FP64", "shape": [-1, self.sizes[-1]]},
                {"name": "digit", "datatype": "INT64", "shape": [-1]},
            ],
        }

    def infer(self, inputs: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]:
        """The V2 call: pixels (n, 784) in 0..1 -> the outputs asked for. TensorInputError names a pixel that
        is not finite or not in 0..1, as /predict does."""
        pixels = inputs["pixels"]
        bad = ~(np.isfinite(pixels) & (pixels >= 0) & (pixels <= 1))
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0])
            raise TensorInputError(f"pixels[{row}][{column}] is {pixels[row, column]:g}; values must be in 0..1.")
        probabilities = self.predict_batch(pixels)
        answers = {"probabilities": probabilities, "digit": probabilities.argmax(axis=-1)}
        return {name: answers[name] for name in outputs}

    def warm_up(self) -> None:
        probabilities = self.predict(np.full(self.input_size, 0.5, dtype=np.float32))
        if not np.isfinite(probabilities).all():
            raise ValueError("The network gives non-finite outputs on a plain grey image; its weights are unusable.")


def _text(value: np.ndarray) -> str:
    item = value.item() if value.ndim == 0 else value.reshape(-1)[0]
    return item.decode() if isinstance(item, bytes) else str(item)


LAYOUTS = ("out_in", "in_out")


def _layer_weight(array: np.ndarray, n_in: int, n_out: int, name: str, layout: str) -> np.ndarray:
    """The weight as (n_in, n_out), for `a @ w`; its stored shape must be the one the layout calls for."""
    expected = (n_out, n_in) if layout == "out_in" else (n_in, n_out)
    if array.shape != expected:
        raise ValueError(
            f"{name} has shape {array.shape}; the file's sizes call for {expected} (layout {layout}: "
            f"{'(sizes[i+1], sizes[i])' if layout == 'out_in' else '(sizes[i], sizes[i+1])'})."
        )
    return array.T if layout == "out_in" else array


def read_npz(path: Path) -> DigitPredictor:
    """Read and validate a network file; ValueError with the reason when it cannot be served."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{Path(path).name} is not a readable .npz file: {exc}") from exc
    with archive:
        missing = [key for key in ("sizes", "activation") if key not in archive.files]
        if missing:
            raise ValueError(f"The network file has no {' or '.join(missing)} (keys present: {sorted(archive.files)}).")
        try:
            sizes_array = archive["sizes"]
            activation = _text(archive["activation"]).strip().lower()
            layout = _text(archive["layout"]).strip().lower() if "layout" in archive.files else "out_in"
        except ValueError as exc:  # e.g. an object array, which needs pickle
            raise ValueError(f"The network file's sizes/activation cannot be read without pickle: {exc}") from exc
        if sizes_array.ndim != 1 or sizes_array.dtype.kind not in "iu" or len(sizes_array) < 2:
            raise ValueError(f"`sizes` must be a list of at least two integers, got {sizes_array!r}.")
        if layout not in LAYOUTS:
            raise ValueError(f"Unknown weight layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
        sizes = [int(s) for s in sizes_array]
        if sizes[0] != INPUT_SIZE or sizes[-1] != OUTPUT_SIZE or min(sizes) < 1:
            raise ValueError(f"`sizes` {sizes} must start with {INPUT_SIZE}, end with {OUTPUT_SIZE}, all positive.")
        weights, biases = [], []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            for key in (f"weight_{i}", f"bias_{i}"):
                if key not in archive.files:
                    raise ValueError(f"The network file has no {key} for its {len(sizes) - 1} layers {sizes}.")
            try:
                w, b = archive[f"weight_{i}"], archive[f"bias_{i}"]
            except ValueError as exc:
                raise ValueError(f"Layer {i} cannot be read without pickle: {exc}") from exc
            if w.dtype.kind != "f" or b.dtype.kind != "f":
                raise ValueError(f"Layer {i} holds {w.dtype}/{b.dtype} values; floats expected.")
            weights.append(_layer_weight(w, n_in, n_out, f"weight_{i}", layout))
            if b.size != n_out or (b.ndim == 2 and 1 not in b.shape) or b.ndim > 2:
                raise ValueError(f"bias_{i} has shape {b.shape}; the file's sizes call for ({n_out},).")
            biases.append(b)
        expected = {f"{kind}_{i}" for kind in ("weight", "bias") for i in range(len(sizes) - 1)}
        extra = sorted(k for k in archive.files if k.startswith(("weight_", "bias_")) and k not in expected)
        if extra:
            raise ValueError(f"The network file has layers {extra} beyond its sizes {sizes}.")
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"Layer {i} holds NaN or infinite values.")
    return DigitPredictor(sizes=sizes, activation=activation, weights=weights, biases=biases)


def write_npz(
    path: Path, *, sizes: list[int], activation: str, weights: list[np.ndarray], biases: list[np.ndarray]
) -> None:
    """Write a network in the format `read_npz` reads and the old service wrote.

    `weights` are (sizes[i], sizes[i+1]) in memory (`a @ w`); they are stored transposed, in the old
    service's (sizes[i+1], sizes[i]) layout.
    """
    arrays: dict[str, np.ndarray] = {
        "sizes": np.asarray(sizes, dtype=np.int64),
        "activation": np.asarray(activation),
    }
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        arrays[f"weight_{i}"] = np.ascontiguousarray(np.asarray(w, dtype=np.float32).T)
        arrays[f"bias_{i}"] = np.asarray(b, dtype=np.float32).reshape(-1)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub matches **kwds against allow_pickle: bool


def check(path: Path) -> None:
    """Refuse, with the reason, a file this runtime cannot serve (the registry calls it at registration)."""
    read_npz(Path(path))


def signature(path: Path, *, metadata: dict[str, Any], declared: Signature | None) -> Signature:
    """The network's V2 signature, from its sizes; a declared one must be the same."""
    found = read_npz(Path(path)).signature
    if declared is not None and declared != found:
        raise ValueError(f"this runtime's signature is {found}; the declared one differs.")
    return found


def load(path: Path, *, metadata: dict[str, Any]) -> DigitPredictor:
    """The runtime loader (settings.ATLAS_RUNTIMES["numpy_mlp"])."""
    return read_npz(Path(path))
