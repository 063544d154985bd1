"""Training the `audio_mlp` network (torch, CPU) on log-mel feature vectors, with a held-out split.

The result is what the runtime serves: a state_dict of `AudioMLP` whose `feature_mean`/`feature_std`
buffers hold the training set's statistics, and the accuracy measured on clips it never saw.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inference.runtimes.audio_mlp import AudioMLP


@dataclass(frozen=True)
class AudioTrainConfig:
    hidden: tuple[int, ...] = (64, 32)
    dropout: float = 0.1
    epochs: int = 150
    lr: float = 1e-2
    weight_decay: float = 1e-4
    test_fraction: float = 0.25
    seed: int = 0


@dataclass(frozen=True)
class AudioTrainResult:
    state_dict: dict[str, torch.Tensor]
    test_accuracy: float
    train_accuracy: float
    n_train: int
    n_test: int
    seconds: float


@contextmanager
def single_thread() -> Iterator[None]:
    """Train on one core (the machines this runs on are shared); restore the caller's setting after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def stratified_split(labels: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of (train, test) with the same share of every class held out."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = max(1, round(len(members) * test_fraction))
        test.append(members[:cut])
        train.append(members[cut:])
    return np.concatenate(train), np.concatenate(test)


def _accuracy(network: AudioMLP, features: torch.Tensor, labels: torch.Tensor) -> float:
    network.eval()
    with torch.inference_mode():
        return float((network(features).argmax(dim=1) == labels).float().mean())


def train_audio_mlp(
    features: np.ndarray, labels: np.ndarray, *, n_classes: int, config: AudioTrainConfig
) -> AudioTrainResult:
    """Full-batch Adam with cross-entropy on (clips, 128) features; accuracy measured on a held-out split."""
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features must be (clips, 128) with one label each, got {features.shape} and {labels.shape}")
    started = time.perf_counter()
    train_idx, test_idx = stratified_split(labels, test_fraction=config.test_fraction, seed=config.seed)
    x_train = torch.from_numpy(features[train_idx].astype(np.float32))
    y_train = torch.from_numpy(labels[train_idx].astype(np.int64))
    x_test = torch.from_numpy(features[test_idx].astype(np.float32))
    y_test = torch.from_numpy(labels[test_idx].astype(np.int64))
    with single_thread():
        torch.manual_seed(config.seed)
        network = AudioMLP(n_classes=n_classes, hidden=config.hidden, dropout=config.dropout)
        network.feature_mean.copy_(x_train.mean(dim=0))
        network.feature_std.copy_(x_train.std(dim=0).clamp_min(1e-3))
        optimiser = torch.optim.Adam(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(config.epochs):
            network.train()
            optimiser.zero_grad()
            loss_fn(network(x_train), y_train).backward()
            optimiser.step()
        result = AudioTrainResult(
            state_dict={k: v.detach().clone() for k, v in network.state_dict().items()},
            test_accuracy=_accuracy(network, x_test, y_test),
            train_accuracy=_accuracy(network, x_train, y_train),
            n_train=len(train_idx),
            n_test=len(test_idx),
            seconds=time.perf_counter() - started,
        )
    return result
