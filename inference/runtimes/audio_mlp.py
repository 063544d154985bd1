"""The `audio_mlp` runtime: the SAIT-style torch MLP over 128 log-mel features.

Artifact: a torch state_dict of `AudioMLP` (`.pt`/`.pth`, read with `torch.load(weights_only=True)`, so
nothing is unpickled) or a `.safetensors` file. It carries the standardisation statistics as the buffers
`feature_mean` and `feature_std`; an artifact without them takes `feature_mean`/`feature_std` (128
numbers each) from the version's metadata. The rest comes from the metadata too:

    {"class_names": [...],             # default: the 30-class SAIT taxonomy
     "hidden": [256, 128], "dropout": 0.3,
     "threat_map": {"siren": {"category": "emergency", "severity": "medium", "priority": 3}, ...}}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .audio_features import N_MELS, SAMPLE_RATE, import_resampler, log_mel_features
from .sait_taxonomy import default_class_names, threat_map_for

DEFAULT_HIDDEN = (256, 128)
DEFAULT_DROPOUT = 0.3
TOP_K = 5


class AudioMLP(nn.Module):
    feature_mean: torch.Tensor  # buffers, registered in __init__
    feature_std: torch.Tensor

    def __init__(self, *, n_classes: int, hidden: Sequence[int] = DEFAULT_HIDDEN, dropout: float = DEFAULT_DROPOUT):
        super().__init__()
        layers: list[nn.Module] = []
        width = N_MELS
        for size in hidden:
            layers += [nn.Linear(width, int(size)), nn.ReLU(), nn.Dropout(float(dropout))]
            width = int(size)
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)
        self.register_buffer("feature_mean", torch.zeros(N_MELS))
        self.register_buffer("feature_std", torch.ones(N_MELS))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.net((features - self.feature_mean) / self.feature_std)
        return logits


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path.name} is not a state_dict (a mapping of names to tensors).")
    return state


class AudioPredictor:
    def __init__(self, network: AudioMLP, *, class_names: list[str], threat_map: dict[str, dict[str, Any]]):
        self.network = network.eval()
        self.class_names = class_names
        self.threat_map = threat_map

    def warm_up(self) -> None:
        rng = np.random.default_rng(0)
        self.classify(rng.normal(0, 0.01, SAMPLE_RATE // 2), SAMPLE_RATE)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.network(torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)))
            return torch.softmax(logits, dim=-1).numpy()

    def classify(self, samples: np.ndarray, sample_rate: int, *, top_k: int = TOP_K) -> dict[str, Any]:
        """Samples shaped (frames,) or (frames, channels) at any rate -> the class and its threat entry."""
        probs = self.probabilities(log_mel_features(samples, sample_rate)[None])[0]
        order = np.argsort(-probs, kind="stable")
        best = int(order[0])
        name = self.class_names[best]
        threat = self.threat_map[name]
        return {
            "class_id": best,
            "class_name": name,
            "confidence": round(float(probs[best]), 4),
            "threat_category": threat["category"],
            "severity": threat["severity"],
            "priority": threat["priority"],
            "top_k": [
                {"class_name": self.class_names[i], "confidence": round(float(probs[i]), 4)} for i in order[:top_k]
            ],
        }


def load(path: Path, *, metadata: dict[str, Any]) -> AudioPredictor:
    path = Path(path)
    if path.suffix.lower() not in {".pt", ".pth", ".safetensors"}:
        raise ValueError(f"The audio_mlp runtime serves .pt/.pth state_dicts and .safetensors, not {path.name!r}.")
    class_names = [str(n) for n in metadata.get("class_names") or default_class_names()]
    if len(set(class_names)) != len(class_names):
        raise ValueError("metadata['class_names'] repeats a name.")
    state = read_state_dict(path)
    for key in ("feature_mean", "feature_std"):
        if key not in state:
            if key not in metadata:
                raise ValueError(f"{path.name} has no {key!r} buffer and the metadata gives none.")
            state[key] = torch.tensor(metadata[key], dtype=torch.float32)
    if state["feature_mean"].shape != (N_MELS,) or state["feature_std"].shape != (N_MELS,):
        raise ValueError(f"feature_mean and feature_std must hold {N_MELS} numbers each.")
    if not bool((state["feature_std"] > 0).all()):
        raise ValueError("feature_std must be positive.")
    network = AudioMLP(
        n_classes=len(class_names),
        hidden=tuple(metadata.get("hidden", DEFAULT_HIDDEN)),
        dropout=float(metadata.get("dropout", DEFAULT_DROPOUT)),
    )
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"{path.name} does not fit an AudioMLP with "
            f"hidden={list(metadata.get('hidden', DEFAULT_HIDDEN))} and {len(class_names)} classes: {exc}"
        ) from None
    import_resampler()  # a clip not at 16 kHz is resampled: its import paid here, not in a request's slot
    return AudioPredictor(
        network, class_names=class_names, threat_map=threat_map_for(class_names, metadata.get("threat_map"))
    )
