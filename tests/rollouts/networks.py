"""Digit networks for the rollout tests: good ones, and one that fails on part of its traffic."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.factories import write_digit_npz

OVERFLOW_PIXELS = (0, 1)  # an input with both of these at 1.0 overflows the faulty network


def write_faulty_npz(path: Path, *, seed: int = 7) -> Path:
    """A network that answers normally unless pixels 0 and 1 are both bright: then one hidden unit
    overflows float32 and the prediction fails. It passes the warm-up (a grey image)."""
    write_digit_npz(path, seed=seed)
    with np.load(path) as archive:
        arrays = dict(archive)
    # weight_i is (sizes[i+1], sizes[i]) (the file format): hidden unit 0 reads pixels 0 and 1 with weights
    # so large that 0.5 + 0.5 of them fit in float32 and 1 + 1 do not; its outgoing weights are tiny.
    arrays["weight_0"][0, list(OVERFLOW_PIXELS)] = 3.0e38
    arrays["weight_1"][:, 0] = 1e-37
    np.savez(path, **arrays)
    return path


def digit(*, overflow: bool, seed: int = 0) -> list[float]:
    pixels = np.random.default_rng(seed).uniform(0, 1, 784).round(3)
    pixels[list(OVERFLOW_PIXELS)] = 1.0 if overflow else 0.0
    return pixels.tolist()
