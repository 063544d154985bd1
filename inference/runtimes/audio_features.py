"""Log-mel features of a clip, in NumPy and SciPy: the input of the SAIT-style audio classifier.

The recipe of the service it replaces (which used librosa): resample to 16 kHz, power STFT (n_fft 2048,
hop 512, periodic Hann window, centred frames zero-padded), 128 mel bands of a Slaney-style filterbank
(librosa's default: Slaney's mel scale, area-normalised triangles, 0 Hz to Nyquist), power_to_db with
ref=max, amin=1e-10 and top_db=80, then the mean over time: one vector of 128 numbers per clip.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 2048
HOP_LENGTH = 512
N_MELS = 128
TOP_DB = 80.0
AMIN = 1e-10
FRAMES_PER_BLOCK = 1024  # STFT frames computed at once: bounds memory on long clips
MIN_SAMPLES = N_FFT  # at 16 kHz: 0.128 s
MIN_SECONDS = MIN_SAMPLES / SAMPLE_RATE


class AudioTooShort(ValueError):
    pass


# --- Slaney's mel scale: linear below 1 kHz, logarithmic above -----------------------------------------

_F_SP = 200.0 / 3  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mels
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies: np.ndarray | float) -> np.ndarray:
    f = np.asarray(frequencies, dtype=np.float64)
    linear = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(f >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    m = np.asarray(mels, dtype=np.float64)
    linear = _F_SP * m
    log = _MIN_LOG_HZ * np.exp(_LOG_STEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, linear)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangles on the Slaney mel scale, each of unit area (Slaney norm)."""
    fft_freqs = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)
    mel_points = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=4)
def _hann(n_fft: int) -> np.ndarray:
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic, as scipy's fftbins=True
    window.setflags(write=False)
    return window


# --- the pipeline ----------------------------------------------------------------------------------------


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, channels) -> (frames,) float64, channels averaged."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 2:
        mono: np.ndarray = samples.mean(axis=1)
        return mono
    if samples.ndim != 1:
        raise ValueError(f"Expected samples shaped (frames,) or (frames, channels), got {samples.shape}.")
    return samples


def import_resampler() -> None:
    """Import scipy.signal (seconds) now: the audio runtime's load() calls this, so resample's import is free."""
    import scipy.signal  # noqa: F401


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    if rate == target:
        return samples
    from scipy.signal import resample_poly  # here, not at the top: the web service imports this module for
    # MIN_SECONDS and never serves audio, so must not pay scipy.signal's seconds at start. The audio runtime's
    # load() imports it (import_resampler), so that no request pays them inside its admission slot.

    divisor = gcd(int(rate), int(target))
    resampled: np.ndarray = resample_poly(samples, target // divisor, int(rate) // divisor)
    return resampled


def mel_power(samples: np.ndarray, *, n_fft: int = N_FFT, hop: int = HOP_LENGTH, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, frames) mel power spectrogram of 16 kHz mono samples, frames centred (zero-padded)."""
    padded = np.pad(samples, n_fft // 2)
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    window, bank = _hann(n_fft), mel_filterbank(SAMPLE_RATE, n_fft, n_mels)
    out = np.empty((n_mels, n_frames))
    for start in range(0, n_frames, FRAMES_PER_BLOCK):
        block = frames[start : start + FRAMES_PER_BLOCK] * window
        spectrum = np.fft.rfft(block, n=n_fft, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        out[:, start : start + len(block)] = bank @ power.T
    return out


def power_to_db(power: np.ndarray, *, top_db: float = TOP_DB, amin: float = AMIN) -> np.ndarray:
    """10 log10(power / max(power)), floored at top_db below the peak (librosa's ref=np.max)."""
    log_spec = 10.0 * np.log10(np.maximum(amin, power))
    log_spec -= 10.0 * np.log10(max(amin, float(power.max())))
    floored: np.ndarray = np.maximum(log_spec, log_spec.max() - top_db)
    return floored


def log_mel_features(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The classifier's input: (128,) float32, the mean over time of the log-mel spectrogram in dB."""
    if sample_rate <= 0:
        raise ValueError(f"Sample rate must be positive, got {sample_rate}.")
    mono = resample(to_mono(samples), int(sample_rate))
    if len(mono) < MIN_SAMPLES:
        raise AudioTooShort(f"Audio is {len(mono) / SAMPLE_RATE:.3f} s long; at least {MIN_SECONDS:.3f} s is needed.")
    if not np.isfinite(mono).all():
        raise ValueError("Audio contains NaN or infinite samples.")
    features: np.ndarray = power_to_db(mel_power(mono)).mean(axis=1).astype(np.float32)
    return features
