"""The audio_mlp runtime and POST /api/v1/audio/classify, with a network trained here on synthesised
sounds (the demo builder), registered and promoted through the real registry."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from rest_framework.test import APIClient

from inference.demo import audio as demo_audio
from inference.runtimes import audio_mlp

RESPONSE_KEYS = {
    "class_id", "class_name", "confidence", "threat_category", "severity", "priority", "top_k", "audio",
    "model", "version",
}  # fmt: skip


@pytest.fixture
def promoted(promote_audio):
    return promote_audio("1.0.0")


def wav(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


def clip(name: str, rate: int = 16_000, seconds: float = 1.5, seed: int = 99) -> np.ndarray:
    return demo_audio.synthesise(name, np.random.default_rng(seed), rate, seconds)


def post_wav(data: bytes, content_type: str = "audio/wav"):
    return APIClient().post("/api/v1/audio/classify", data, content_type=content_type)


# --- the runtime ------------------------------------------------------------------------------------


def test_demo_training_measures_its_held_out_accuracy(audio_demo):
    assert audio_demo.metrics["test_clips"] == 50
    assert audio_demo.metrics["accuracy"] >= 0.9
    assert audio_demo.metadata["class_names"] == [
        "siren",
        "gunshot",
        "glass_breaking",
        "speech",
        "background_noise",
    ]


def test_the_trained_network_tells_a_siren_from_noise(audio_demo):
    predictor = audio_mlp.load(audio_demo.path, metadata=audio_demo.metadata)

    assert predictor.classify(clip("siren"), 16_000)["class_name"] == "siren"
    assert predictor.classify(clip("background_noise"), 16_000)["class_name"] == "background_noise"


LOAD_IN_A_NEW_INTERPRETER = """
import json, sys
from pathlib import Path
from inference.runtimes import audio_mlp
before = "scipy.signal" in sys.modules
audio_mlp.load(Path(sys.argv[1]), metadata=json.loads(sys.argv[2]))
print(json.dumps([before, "scipy.signal" in sys.modules]))
"""


def test_loading_the_audio_model_imports_scipy_signal_so_no_request_pays_for_it(audio_demo):
    """A new interpreter: this one has scipy.signal already (the demo builder imports it)."""
    run = subprocess.run(
        [sys.executable, "-c", LOAD_IN_A_NEW_INTERPRETER, str(audio_demo.path), json.dumps(audio_demo.metadata)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    assert json.loads(run.stdout.splitlines()[-1]) == [False, True]  # not by importing the runtime: by load()


def test_a_safetensors_artifact_answers_like_the_state_dict(audio_demo, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "audio.safetensors"
    save_file(torch.load(audio_demo.path, weights_only=True), str(path))
    siren = clip("siren")

    from_pt = audio_mlp.load(audio_demo.path, metadata=audio_demo.metadata).classify(siren, 16_000)
    from_safetensors = audio_mlp.load(path, metadata=audio_demo.metadata).classify(siren, 16_000)

    assert from_safetensors == from_pt


def test_a_pickled_object_is_refused_by_weights_only_loading(tmp_path, audio_demo):
    path = tmp_path / "evil.pt"
    torch.save({"net.0.weight": torch.zeros(1), "payload": print}, path)

    with pytest.raises(Exception, match="Weights only load failed"):
        audio_mlp.load(path, metadata=audio_demo.metadata)


def test_a_state_dict_of_another_shape_is_refused_with_the_reason(audio_demo):
    with pytest.raises(ValueError, match=r"does not fit an AudioMLP with hidden=\[256, 128\] and 5 classes"):
        audio_mlp.load(audio_demo.path, metadata={**audio_demo.metadata, "hidden": [256, 128]})


def test_the_default_class_names_are_the_30_sait_classes(audio_demo, tmp_path):
    network = audio_mlp.AudioMLP(n_classes=30, hidden=(8,))
    path = tmp_path / "sait.pt"
    torch.save(network.state_dict(), path)

    predictor = audio_mlp.load(path, metadata={"hidden": [8]})

    assert len(predictor.class_names) == 30
    assert predictor.threat_map["gunshot"] == {"category": "weapon", "severity": "critical", "priority": 1}


# --- the endpoint ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_classify_answers_the_old_shape_for_a_16bit_siren(promoted):
    response = post_wav(wav(clip("siren"), 16_000))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert (body["class_id"], body["class_name"]) == (0, "siren")
    assert (body["threat_category"], body["severity"], body["priority"]) == ("emergency", "medium", 3)
    assert body["audio"] == {"sample_rate": 16000, "duration_seconds": 1.5}
    assert (body["model"], body["version"]) == ("audio_classifier", "1.0.0")
    assert [entry["class_name"] for entry in body["top_k"]][0] == "siren"
    assert len(body["top_k"]) == 5
    assert sum(entry["confidence"] for entry in body["top_k"]) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.django_db
def test_classify_accepts_stereo_float_at_44k1_as_a_multipart_file(promoted):
    noise = clip("background_noise", rate=44_100, seconds=2.0)
    upload = io.BytesIO(wav(np.stack([noise, noise], axis=1), 44_100, subtype="FLOAT"))
    upload.name = "noise.wav"

    response = APIClient().post("/api/v1/audio/classify", {"file": upload}, format="multipart")

    assert response.status_code == 200
    assert response.json()["class_name"] == "background_noise"
    assert response.json()["audio"] == {"sample_rate": 44100, "duration_seconds": 2.0}


@pytest.mark.django_db
def test_classify_accepts_32bit_pcm(promoted):
    response = post_wav(wav(clip("gunshot", rate=22_050), 22_050, subtype="PCM_32"), content_type="audio/x-wav")

    assert response.status_code == 200
    assert response.json()["class_name"] == "gunshot"


@pytest.mark.django_db
def test_classify_without_an_active_version_answers_503():
    response = post_wav(wav(clip("siren"), 16_000))

    assert response.status_code == 503
    assert response.json()["model"] == "audio_classifier"


def test_garbage_is_400():
    response = post_wav(b"RIFF\x00\x00\x00\x00WAVEnot really")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_audio"


def test_a_clip_too_short_to_classify_is_400():
    response = post_wav(wav(np.zeros(800, dtype=np.float32), 16_000))

    assert response.status_code == 400
    assert response.json() == {
        "error": "audio_too_short",
        "detail": "The audio is 0.050 s long; at least 0.128 s is needed.",
    }


def test_an_empty_body_is_400():
    response = post_wav(b"")

    assert response.status_code == 400
    assert response.json()["error"] == "empty_upload"


def test_a_body_over_the_upload_limit_is_413(settings):
    settings.ATLAS_MAX_UPLOAD_MB = 1

    response = post_wav(bytes(2 * 1024 * 1024))

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_json_body_is_415():
    response = post_wav(b"{}", content_type="application/json")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
