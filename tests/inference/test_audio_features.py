"""Log-mel features in NumPy/SciPy, checked against numbers librosa 0.11.0 computed for the same input
(librosa is not a dependency: the reference values are written down here)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.runtimes import audio_features as af

RATE = 16_000


def two_tones(rate: int = RATE, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.sin(2 * np.pi * 1000 * t) + 0.5 * np.sin(2 * np.pi * 3000 * t)


def test_slaney_mel_scale_is_linear_to_1khz_then_logarithmic():
    assert af.hz_to_mel(1000.0) == pytest.approx(15.0)
    assert af.hz_to_mel(500.0) == pytest.approx(7.5)
    np.testing.assert_allclose(af.mel_to_hz(af.hz_to_mel([60.0, 999.0, 4321.0])), [60.0, 999.0, 4321.0])
    # librosa.mel_frequencies(n_mels=5, fmax=8000)
    np.testing.assert_allclose(
        af.mel_to_hz(np.linspace(0, af.hz_to_mel(8000.0), 5)),
        [0.0, 754.09400787, 1688.90846266, 3675.76763429, 8000.0],
    )


def test_filterbank_matches_librosa_defaults():
    bank = af.mel_filterbank()

    assert bank.shape == (128, 1025)
    assert (bank >= 0).all()
    # librosa.filters.mel(sr=16000, n_fft=2048, n_mels=128)[[0, 64, 127]].sum(axis=1)
    np.testing.assert_allclose(bank[[0, 64, 127]].sum(axis=1), [0.12799929, 0.12811266, 0.12796599], rtol=1e-6)
    assert int(bank[64].argmax()) == 219


def test_features_match_librosa_for_two_tones():
    features = af.log_mel_features(two_tones(), RATE)

    assert features.shape == (128,)
    assert features.dtype == np.float32
    # librosa.power_to_db(melspectrogram(y, sr=16000, n_fft=2048, hop_length=512, n_mels=128), ref=np.max,
    # top_db=80).mean(axis=1)
    np.testing.assert_allclose(
        features[[0, 20, 40, 60, 80, 100, 127]],
        [-75.5779, -75.3066, -72.834, -76.4354, -76.8826, -77.0233, -78.1636],
        atol=1e-3,
    )
    assert int(features.argmax()) == 42


def test_stereo_is_averaged_to_mono():
    mono = two_tones()
    stereo = np.stack([mono, mono], axis=1)

    np.testing.assert_allclose(af.log_mel_features(stereo, RATE), af.log_mel_features(mono, RATE))


def test_44k1_is_resampled_to_16k_first():
    at_16k = af.log_mel_features(two_tones(RATE), RATE)
    at_44k1 = af.log_mel_features(two_tones(44_100), 44_100)

    assert int(at_44k1.argmax()) == int(at_16k.argmax())
    assert np.abs(at_44k1 - at_16k).max() < 1.0  # dB


def test_power_to_db_floors_at_top_db_below_the_peak():
    power = np.array([[1.0, 1e-3, 1e-12]])

    np.testing.assert_allclose(af.power_to_db(power), [[0.0, -30.0, -80.0]])


def test_a_clip_shorter_than_one_fft_window_is_refused():
    with pytest.raises(af.AudioTooShort, match="Audio is 0.100 s long; at least 0.128 s is needed."):
        af.log_mel_features(np.zeros(1600), RATE)


def test_long_clips_are_processed_in_blocks_with_the_same_result(monkeypatch):
    clip = two_tones(seconds=3.0)
    whole = af.log_mel_features(clip, RATE)

    monkeypatch.setattr(af, "FRAMES_PER_BLOCK", 7)

    np.testing.assert_allclose(af.log_mel_features(clip, RATE), whole, rtol=1e-6)
