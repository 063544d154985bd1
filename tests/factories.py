"""Real artifacts made in the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_digit_npz(path: Path, *, seed: int, sizes: tuple[int, ...] = (784, 16, 10)) -> Path:
    """A small MNIST MLP in the old service's .npz format, weight_i (n_out, n_in): real bytes, real forward pass."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {"sizes": np.array(sizes), "activation": np.array("relu")}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        arrays[f"weight_{i}"] = rng.normal(0, np.sqrt(2 / n_in), size=(n_out, n_in)).astype(np.float32)
        arrays[f"bias_{i}"] = np.zeros(n_out, dtype=np.float32)
    np.savez(path, **arrays)
    return path
