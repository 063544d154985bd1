"""Issue 10, case 1: audio and images are bounded from their headers, before any sample or pixel is
decoded. No model is needed: the refusals come before the model is looked up."""

from __future__ import annotations

import io

import numpy as np
import soundfile
from PIL import Image
from rest_framework.test import APIClient


def encoded_audio(seconds: float, rate: int, *, fmt: str, subtype: str, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(
        buffer, np.zeros((int(seconds * rate), channels), dtype=np.int16), rate, format=fmt, subtype=subtype
    )
    return buffer.getvalue()


def classify(data: bytes):
    return APIClient().post("/api/v1/audio/classify", data, content_type="audio/wav")


def test_a_flac_clip_is_refused_as_an_unsupported_format():
    response = classify(encoded_audio(2, 8_000, fmt="FLAC", subtype="PCM_16"))

    assert response.status_code == 415
    assert response.json() == {
        "error": "unsupported_audio_format",
        "detail": "The audio is FLAC PCM_16; send uncompressed WAV (PCM_U8, PCM_16, PCM_24, PCM_32, FLOAT, DOUBLE).",
    }


def test_a_wav_longer_than_the_limit_is_refused_before_decoding(settings):
    settings.ATLAS_MAX_AUDIO_SECONDS = 60

    response = classify(encoded_audio(61, 4_000, fmt="WAV", subtype="PCM_U8"))

    assert response.status_code == 413
    assert response.json() == {
        "error": "audio_too_long",
        "detail": "The audio is 61.0 s long; at most 60 s (ATLAS_MAX_AUDIO_SECONDS).",
    }


def test_a_short_clip_with_too_many_channels_is_refused_by_its_sample_count(settings):
    settings.ATLAS_MAX_AUDIO_SECONDS = 1  # at most 96,000 samples

    response = classify(encoded_audio(1, 16_000, fmt="WAV", subtype="PCM_16", channels=8))

    assert response.status_code == 413
    assert response.json()["error"] == "audio_too_large"


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(settings):
    settings.ATLAS_MAX_IMAGE_PIXELS = 10_000
    buffer = io.BytesIO()
    Image.new("L", (101, 100)).save(buffer, format="PNG")

    response = APIClient().post("/api/v1/detect", buffer.getvalue(), content_type="image/png")

    assert response.status_code == 413
    assert response.json() == {
        "error": "image_too_large",
        "detail": "The image is 101x100; at most 10,000 pixels (ATLAS_MAX_IMAGE_PIXELS).",
    }
