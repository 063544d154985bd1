"""A small multi-layer perceptron trained with mini-batch Adam and cross-entropy, in float32 NumPy.

Hidden layers use the chosen activation (He initialisation for relu-like ones, Glorot for sigmoid/tanh/
linear); the output is softmax, as in the `numpy_mlp` runtime that serves the result.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from inference.runtimes.numpy_mlp import ACTIVATIONS

OPTIMISER = "adam (beta1 0.9, beta2 0.999, eps 1e-8)"


@dataclass(frozen=True)
class TrainConfig:
    sizes: tuple[int, ...] = (784, 100, 10)
    activation: str = "relu"
    epochs: int = 20
    seed: int = 0
    lr: float = 1e-3
    batch_size: int = 32

    def problems(self) -> list[str]:
        """What is wrong with this configuration, in words a person can act on (empty when fine)."""
        found = []
        if len(self.sizes) < 2 or self.sizes[0] != 784 or self.sizes[-1] != 10:
            found.append(f"sizes must start with 784 (28x28 pixels) and end with 10 (digits), got {list(self.sizes)}")
        if any(size < 1 for size in self.sizes):
            found.append(f"every layer size must be at least 1, got {list(self.sizes)}")
        if self.activation not in ACTIVATIONS:
            found.append(f"activation must be one of {', '.join(sorted(ACTIVATIONS))}, got {self.activation!r}")
        if self.epochs < 1:
            found.append(f"epochs must be at least 1, got {self.epochs}")
        if not self.lr > 0 or not np.isfinite(self.lr):
            found.append(f"the learning rate must be a positive number, got {self.lr}")
        if self.batch_size < 1:
            found.append(f"the batch size must be at least 1, got {self.batch_size}")
        return found


@dataclass
class TrainedNetwork:
    sizes: list[int]
    activation: str
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    loss_per_epoch: list[float] = field(default_factory=list)
    train_accuracy_per_epoch: list[float] = field(default_factory=list)


def init_scale(activation: str, n_in: int, n_out: int) -> float:
    if activation in ("relu", "leaky_relu"):
        return float(np.sqrt(2.0 / n_in))  # He
    return float(np.sqrt(2.0 / (n_in + n_out)))  # Glorot


def _derivative(activation: str, a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """d activation / d z, written in terms of the activation's output a."""
    if activation == "relu":
        return (a > 0).astype(np.float32)
    if activation == "leaky_relu":
        return np.where(a > 0, np.float32(1), np.float32(0.01))
    if activation == "sigmoid":
        return a * (1 - a)
    if activation == "tanh":
        return 1 - a * a
    return np.ones_like(a)


def train_mlp(x: np.ndarray, y: np.ndarray, *, config: TrainConfig, progress: bool = False) -> TrainedNetwork:
    """Train on x (n, 784) float32 in 0..1 and y (n,) labels 0..9; seeded, so a rerun gives the same net.

    BLAS runs on one thread: these small mini-batch products are several times faster that way on a
    shared machine, and the result does not depend on the thread count.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _train(x, y, config=config, progress=progress)


def _train(x: np.ndarray, y: np.ndarray, *, config: TrainConfig, progress: bool) -> TrainedNetwork:
    problems = config.problems()
    if problems:
        raise ValueError("; ".join(problems))
    rng = np.random.default_rng(config.seed)
    activation = ACTIVATIONS[config.activation]
    sizes = list(config.sizes)
    weights = [
        (rng.standard_normal((n_in, n_out)) * init_scale(config.activation, n_in, n_out)).astype(np.float32)
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    biases = [np.zeros(n_out, dtype=np.float32) for n_out in sizes[1:]]
    params = [*weights, *biases]
    moment1 = [np.zeros_like(p) for p in params]
    moment2 = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    onehot = np.eye(sizes[-1], dtype=np.float32)[y]
    n = len(x)
    step = 0
    network = TrainedNetwork(sizes=sizes, activation=config.activation, weights=weights, biases=biases)
    epochs = tqdm(
        range(config.epochs), desc="training", unit="epoch", disable=not progress, file=sys.stderr, leave=True
    )
    for _epoch in epochs:
        order = rng.permutation(n)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            layers = [x[batch]]
            for w, b in zip(weights[:-1], biases[:-1], strict=True):
                layers.append(activation(layers[-1] @ w + b))
            logits = layers[-1] @ weights[-1] + biases[-1]
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            target = onehot[batch]
            loss_sum += float(-np.log(np.maximum((probs * target).sum(axis=1), 1e-12)).sum())
            correct += int((probs.argmax(axis=1) == y[batch]).sum())
            # Backward pass: gradient of the mean cross-entropy.
            delta = (probs - target) / len(batch)
            grads_w = [np.empty(0) for _ in weights]  # each filled below, last layer first
            grads_b = [np.empty(0) for _ in biases]
            for layer in range(len(weights) - 1, -1, -1):
                grads_w[layer] = layers[layer].T @ delta
                grads_b[layer] = delta.sum(axis=0)
                if layer:
                    delta = (delta @ weights[layer].T) * _derivative(config.activation, layers[layer])
            step += 1
            correction1 = 1 - beta1**step
            correction2 = 1 - beta2**step
            for param, grad, m, v in zip(params, [*grads_w, *grads_b], moment1, moment2, strict=True):
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                param -= (config.lr / correction1) * m / (np.sqrt(v / correction2) + eps)
        network.loss_per_epoch.append(loss_sum / n)
        network.train_accuracy_per_epoch.append(correct / n)
        epochs.set_postfix(loss=f"{loss_sum / n:.4f}", train_acc=f"{correct / n:.4f}")
    return network
