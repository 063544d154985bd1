"""Isolation by configuration: a process started with ATLAS_SERVE_MODELS=digit_classifier,threat_classifier
(the Procfile's server, as a web service of the split) answers a detection or an audio classification with a
fast JSON 503 naming the model and a Retry-After, and never loads torch."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
import requests

from models_registry import services
from tests.factories import write_digit_npz
from tests.replicas.test_serve_models import _threat_version
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

DIGITS = "digit_classifier"
SERVED = "digit_classifier,threat_classifier"
IMAGE = Path(__file__).resolve().parents[2] / "inference" / "data" / "shapes-demo-1.jpg"


def a_second_of_tone() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((np.sin(np.arange(16_000) * 2 * np.pi * 440 / 16_000) * 8000).astype("<i2").tobytes())
    return buffer.getvalue()


@pytest.fixture
def web_service(settings, start_replica, tmp_path):
    """The digits and the threat rules active; a two-worker process that serves only those, once both of its
    workers serve the digits."""
    digits = services.model_version_register(
        model_name=DIGITS, version="1.0.0", source=write_digit_npz(tmp_path / "d.npz", seed=1), runtime="numpy_mlp"
    )
    services.model_version_promote(version=digits, actor="test")
    services.model_version_promote(version=_threat_version(tmp_path, "1.0.0"), actor="test")
    replica = start_replica(
        workers=2, env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "ATLAS_SERVE_MODELS": SERVED}
    )
    pids = replica.worker_pids()
    wait_until(lambda: worker_versions(DIGITS, pids) == dict.fromkeys(pids, "1.0.0"), timeout=60, what="preload")
    return replica


def torch_mapped(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize(
    ("path", "files", "model"),
    [
        ("/api/v1/detect", {"file": ("shapes.jpg", IMAGE.read_bytes(), "image/jpeg")}, "visual_detector"),
        ("/api/v1/audio/classify", {"file": ("tone.wav", a_second_of_tone(), "audio/wav")}, "audio_classifier"),
    ],
)
def test_a_model_this_process_does_not_serve_is_a_json_503_and_never_loads_torch(web_service, path, files, model):
    response = requests.post(f"{web_service.url}{path}", files=files, timeout=10)

    assert (response.status_code, response.headers["Content-Type"], response.headers["Retry-After"]) == (
        503,
        "application/json",
        "5",
    )
    why = (
        f"This replica does not serve {model!r} (ATLAS_SERVE_MODELS={SERVED}); "
        "send the request to a replica that serves it."
    )
    assert response.json() == {"error": why, "model": model, "detail": f"No model loaded. {why}"}
    assert {pid: torch_mapped(pid) for pid in web_service.worker_pids()} == dict.fromkeys(
        web_service.worker_pids(), False
    )
