"""The demo audio classifier: an `audio_mlp` network trained on sounds synthesised for five classes.

No recordings ship with the installed packages, so each class is made from its physics, with random
parameters and background noise at a random level:
- siren: a tone swept up and down (600-1600 Hz) with a few harmonics;
- gunshot: a sharp onset, a low thump and a burst of noise decaying over tens of milliseconds;
- glass_breaking: many short high-frequency bursts (3-8 kHz ringing tones and high-passed noise);
- speech: formant-shaped harmonics of a wavering 90-240 Hz voice, modulated at a syllable rate;
- background_noise: pink-ish noise with mains hum.
The held-out accuracy is measured on clips the network never saw; it says nothing about real recordings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from scipy.signal import butter, sosfilt

from inference.demo import DemoArtifact
from inference.runtimes.audio_features import SAMPLE_RATE, log_mel_features
from inference.runtimes.sait_taxonomy import default_threat_map
from inference.training.audio import AudioTrainConfig, train_audio_mlp

MODEL_NAME = "audio_classifier"  # seed_demo skips building when this model has a version

CLASS_NAMES = ["siren", "gunshot", "glass_breaking", "speech", "background_noise"]
CLIPS_PER_CLASS = 80
CLIP_SECONDS = 1.0


def _time(rate: int, seconds: float) -> np.ndarray:
    return np.arange(int(rate * seconds)) / rate


def synth_siren(rng: np.random.Generator, rate: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS) -> np.ndarray:
    t = _time(rate, seconds)
    low, high = rng.uniform(550, 800), rng.uniform(1200, 1700)
    sweep_hz = rng.uniform(0.8, 3.0)
    freq = low + (high - low) * 0.5 * (1 + np.sin(2 * np.pi * sweep_hz * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(freq) / rate
    return np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.1 * np.sin(3 * phase)


def synth_gunshot(rng: np.random.Generator, rate: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS) -> np.ndarray:
    n = int(rate * seconds)
    out = np.zeros(n)
    for _ in range(rng.integers(1, 3)):
        onset = int(rng.uniform(0.05, 0.6) * n)
        t = np.arange(n - onset) / rate
        decay = rng.uniform(0.02, 0.08)
        blast = rng.normal(0, 1, n - onset) * np.exp(-t / decay)
        thump = np.sin(2 * np.pi * rng.uniform(60, 120) * t) * np.exp(-t / (decay * 2))
        out[onset:] += blast + 0.8 * thump
    return out


def synth_glass_breaking(
    rng: np.random.Generator, rate: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS
) -> np.ndarray:
    n = int(rate * seconds)
    out = np.zeros(n)
    highpass = butter(4, 3000, btype="highpass", fs=rate, output="sos")
    for _ in range(rng.integers(6, 16)):
        start = int(rng.uniform(0.0, 0.9) * n)
        length = int(rng.uniform(0.005, 0.05) * rate)
        t = np.arange(min(length, n - start)) / rate
        ring = sum(np.sin(2 * np.pi * rng.uniform(3000, 7800) * t) for _ in range(3))
        burst = (ring + 2 * sosfilt(highpass, rng.normal(0, 1, len(t)))) * np.exp(-t / rng.uniform(0.005, 0.02))
        out[start : start + len(t)] += burst
    return out


def synth_speech(rng: np.random.Generator, rate: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS) -> np.ndarray:
    t = _time(rate, seconds)
    f0 = rng.uniform(90, 240) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    formants = [(rng.uniform(300, 850), 90), (rng.uniform(900, 2300), 120), (rng.uniform(2400, 3200), 180)]
    out = np.zeros_like(t)
    for k in range(1, int(4000 / f0.max())):
        harmonic = k * f0
        gain = sum(np.exp(-0.5 * ((harmonic - centre) / width) ** 2) for centre, width in formants)
        out += (0.05 + gain) / k**0.5 * np.sin(k * phase)
    syllables = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 2 * np.pi)))
    return out * syllables**2


def synth_background_noise(
    rng: np.random.Generator, rate: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS
) -> np.ndarray:
    n = int(rate * seconds)
    white = rng.normal(0, 1, n)
    pinkish = sosfilt(butter(1, rng.uniform(200, 800), btype="lowpass", fs=rate, output="sos"), white)
    hum = 0.2 * np.sin(2 * np.pi * rng.choice([50.0, 60.0]) * _time(rate, seconds))
    noise: npt.NDArray[np.float64] = pinkish + hum + 0.05 * white  # scipy has no stubs: Any
    return noise


SYNTHESISERS: dict[str, Callable[..., np.ndarray]] = {
    "siren": synth_siren,
    "gunshot": synth_gunshot,
    "glass_breaking": synth_glass_breaking,
    "speech": synth_speech,
    "background_noise": synth_background_noise,
}


def synthesise(
    name: str, rng: np.random.Generator, rate: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS
) -> np.ndarray:
    """One clip of class `name`, peak-normalised to a random level, with background noise at 10-40 dB SNR."""
    clip = SYNTHESISERS[name](rng, rate, seconds)
    clip /= np.abs(clip).max() + 1e-12
    noise_db = rng.uniform(10, 40)
    clip = clip + rng.normal(0, np.sqrt(np.mean(clip**2)) * 10 ** (-noise_db / 20), len(clip))
    scaled: npt.NDArray[np.float32] = (clip / (np.abs(clip).max() + 1e-12) * rng.uniform(0.2, 0.9)).astype(np.float32)
    return scaled


def dataset(*, clips_per_class: int = CLIPS_PER_CLASS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clips, 128) log-mel features and their class ids, clips synthesised at 16 kHz."""
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for label, name in enumerate(CLASS_NAMES):
        for _ in range(clips_per_class):
            features.append(log_mel_features(synthesise(name, rng), SAMPLE_RATE))
            labels.append(label)
    return np.stack(features), np.asarray(labels)


def build(dest_dir: Path, *, clips_per_class: int = CLIPS_PER_CLASS, seed: int = 0) -> DemoArtifact:
    started = time.perf_counter()
    features, labels = dataset(clips_per_class=clips_per_class, seed=seed)
    config = AudioTrainConfig(seed=seed)
    result = train_audio_mlp(features, labels, n_classes=len(CLASS_NAMES), config=config)
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / "audio_classifier.pt"
    part = path.with_name(path.name + ".part")
    torch.save(result.state_dict, part)
    part.replace(path)
    threats = default_threat_map()
    return DemoArtifact(
        model_name=MODEL_NAME,
        runtime="audio_mlp",
        path=path,
        version="1.0.0",
        description="Security sound classifier (SAIT-style MLP over 128 log-mel features).",
        metrics={
            "accuracy": round(result.test_accuracy, 4),
            "train_accuracy": round(result.train_accuracy, 4),
            "test_clips": result.n_test,
            "train_clips": result.n_train,
            "build_seconds": round(time.perf_counter() - started, 2),
        },
        metadata={
            "class_names": CLASS_NAMES,
            "hidden": list(config.hidden),
            "dropout": config.dropout,
            "threat_map": {name: threats[name] for name in CLASS_NAMES},
            "training": {
                "data": f"synthesised, {clips_per_class} clips of {CLIP_SECONDS:g} s per class at 16 kHz",
                "seed": seed,
                "epochs": config.epochs,
                "lr": config.lr,
                "weight_decay": config.weight_decay,
                "optimiser": "adam, full batch",
                "test_fraction": config.test_fraction,
            },
        },
        notes=(
            "Demo network trained on synthesised sounds (siren, gunshot, glass breaking, speech-like, "
            "background noise); its accuracy is measured on held-out synthesised clips, not real recordings."
        ),
    )
