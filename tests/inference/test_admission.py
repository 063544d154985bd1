"""Issue 24, admission control: the slow endpoints are rate-limited per client (429 with Retry-After), and a
worker busy with ATLAS_SLOW_CONCURRENCY slow predictions answers 503 with Retry-After after at most
ATLAS_SLOW_WAIT_SECONDS instead of queueing (atlas/admission.py)."""

from __future__ import annotations

import importlib
import io
import threading
import time

import numpy as np
import pytest
import soundfile
from django.core.exceptions import ImproperlyConfigured
from PIL import Image
from rest_framework.test import APIClient

import atlas.settings as atlas_settings
from atlas import admission


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(16_000, dtype=np.float32), 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_150_detections_from_one_address_get_429_past_30_a_minute():
    client = APIClient()
    body = png()

    answers = [
        client.post("/api/v1/detect", body, content_type="image/png", REMOTE_ADDR="10.0.0.9") for _ in range(150)
    ]

    codes = [answer.status_code for answer in answers]
    assert codes == [503] * 30 + [429] * 120  # 503: no detector is active here; counted all the same
    refused = answers[-1]
    assert set(refused.json()) == {"detail"}
    assert 1 <= int(refused["Retry-After"]) <= 60


@pytest.mark.django_db
def test_audio_classification_gets_429_past_30_a_minute_per_address():
    client = APIClient()
    body = wav_bytes()

    codes = [
        client.post("/api/v1/audio/classify", body, content_type="audio/wav", REMOTE_ADDR="10.0.0.9").status_code
        for _ in range(31)
    ]
    other = client.post("/api/v1/audio/classify", body, content_type="audio/wav", REMOTE_ADDR="10.0.0.10")

    assert codes == [503] * 30 + [429]
    assert other.status_code == 503


@pytest.fixture
def settings_with(monkeypatch):
    def read(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(atlas_settings)

    yield read
    monkeypatch.undo()
    importlib.reload(atlas_settings)


def test_one_scopes_rate_is_set_over_the_scaled_ones(settings_with):
    read = settings_with(RATE_LIMIT_PER_MINUTE="200", ATLAS_THROTTLE_RATES="detect=5/min, audio=off")

    assert (read.ATLAS_THROTTLE_RATES["detect"], read.ATLAS_THROTTLE_RATES["audio"]) == ("5/min", None)
    assert read.ATLAS_THROTTLE_RATES["analyze"] == "40/min"


def test_an_unknown_scope_or_rate_is_refused_at_start(settings_with):
    with pytest.raises(ImproperlyConfigured, match="'detection=5/min' is not scope=N/period"):
        settings_with(ATLAS_THROTTLE_RATES="detection=5/min")
    with pytest.raises(ImproperlyConfigured, match="'detect=often' is not scope=N/period"):
        settings_with(ATLAS_THROTTLE_RATES="detect=often")


def test_a_call_that_finds_no_slot_within_the_wait_is_overloaded_and_never_runs(settings):
    settings.ATLAS_SLOW_CONCURRENCY, settings.ATLAS_SLOW_WAIT_SECONDS = 1, 0.2
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with admission.slot("visual_detector"):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    ran = []
    started = time.monotonic()
    try:
        with pytest.raises(admission.Overloaded) as refused, admission.slot("visual_detector"):
            ran.append(1)
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()

    assert ran == []
    assert 0.2 <= waited < 10  # at least the wait; the upper bound only catches a hang on a loaded machine
    assert (refused.value.status_code, refused.value.wait) == (503, 1)
    assert refused.value.detail["error"] == "overloaded"


def test_a_slot_freed_within_the_wait_is_taken(settings):
    settings.ATLAS_SLOW_CONCURRENCY, settings.ATLAS_SLOW_WAIT_SECONDS = 1, 5
    holding, asking, release = threading.Event(), threading.Event(), threading.Event()
    events: list[str] = []

    def hold() -> None:
        with admission.slot("visual_detector"):
            holding.set()
            release.wait(10)
            events.append("released")

    def take() -> None:
        asking.set()  # the slot is still held: the holder waits for `release`, set only after this
        with admission.slot("visual_detector"):
            events.append("taken")

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    taker = threading.Thread(target=take)
    taker.start()
    asking.wait(10)
    release.set()
    holder.join()
    taker.join()

    assert events == ["released", "taken"]
