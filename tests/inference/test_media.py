"""POST /api/v1/analyze/media in the threat-intelligence service's shape: a photo through the real visual
detector, a sound through the real audio classifier, each followed by the active taxonomy's rules."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile
from PIL import Image
from rest_framework.test import APIClient
from sklearn.datasets import load_sample_image

from atlas.request_guard import NUL_DETAIL
from inference.demo import audio as demo_audio
from inference.demo import vision
from inference.runtimes import threat_rules
from models_registry import services, trust

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def yolo_demo(tmp_path_factory):
    return vision.build(tmp_path_factory.mktemp("yolo"))


@pytest.fixture(scope="module")
def audio_demo(tmp_path_factory):
    return demo_audio.build(tmp_path_factory.mktemp("audio"), clips_per_class=40)


@pytest.fixture
def promote(tmp_path, django_capture_on_commit_callbacks):
    def make(model: str, runtime: str, path, metadata=None):
        version = services.model_version_register(
            model_name=model, version="1.0.0", source=path, runtime=runtime, metadata=metadata or {}, actor="t"
        )
        if trust.needs_trust(runtime=runtime, fmt=version.format):
            services.model_version_trust(version=version, actor="t")  # the test built the .pt itself
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_promote(version=version, actor="t")

    taxonomy = tmp_path / "taxonomy.json"
    taxonomy.write_text(json.dumps(threat_rules.default_taxonomy()))
    make("threat_classifier", "threat_rules", taxonomy)
    return make


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(load_sample_image("china.jpg")).save(buffer, format="JPEG")
    return buffer.getvalue()


def wav(name: str) -> bytes:
    buffer = io.BytesIO()
    samples = demo_audio.synthesise(name, np.random.default_rng(7), 16_000, 1.5)
    soundfile.write(buffer, samples, 16_000, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def analyze(data: bytes, media_type: str, name: str = "upload"):
    """Multipart, the part's type guessed from `name` as a browser or requests would."""
    upload = io.BytesIO(data)
    upload.name = name
    return APIClient().post(
        "/api/v1/analyze/media",
        {"file": upload, "media_type": media_type},
        format="multipart",
    )


def test_a_photo_is_detected_then_classified_in_the_old_shape(promote, yolo_demo):
    promote("visual_detector", "yolo", yolo_demo.path, {"confidence": 1e-4, "thresholds": {}})

    response = analyze(jpeg(), "photo", "china.jpg")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "success", "media_type", "visual_analysis", "threat_classification", "source_models", "processing_time_ms",
    }  # fmt: skip
    assert (body["success"], body["media_type"]) == (True, "photo")
    analysis = body["visual_analysis"]
    assert analysis["object_count"] == len(analysis["objects"])
    assert set(analysis) == {"objects", "object_count", "people_count", "weapons_detected", "threat_indicators"}
    found = body["threat_classification"]
    assert found["detected_objects"] == analysis["objects"]
    assert found["product_mappings"]["frontline_objects"] == [d["class"] for d in analysis["objects"]]
    assert 1 <= found["severity"] <= 5
    assert body["source_models"] == {
        "object_detector": "visual_detector-1.0.0",
        "threat_classifier": "threat_classifier-1.0.0",
    }


def test_a_gunshot_recording_is_weapons_severity_5(promote, audio_demo):
    promote("audio_classifier", "audio_mlp", audio_demo.path, audio_demo.metadata)

    response = analyze(wav("gunshot"), "audio", "shot.wav")

    body = response.json()
    assert response.status_code == 200
    assert body["threat_classification"]["category"] == "weapons"
    assert body["threat_classification"]["subcategory"] == "gunshot"
    assert body["threat_classification"]["severity"] == 5
    assert body["audio_analysis"]["threat_sounds"][0]["type"] == "gunshot"
    assert body["audio_analysis"]["distress_detected"] is True
    assert body["audio_analysis"]["sample_rate"] == 16_000
    assert body["recommendations"] == ["Immediate response recommended", "Alert nearby Halo users"]


def test_an_upload_over_max_media_size_mb_is_413(promote, settings):
    settings.MAX_MEDIA_SIZE_MB = 1

    response = analyze(b"\xff" * (1024 * 1024 + 1), "photo", "big.jpg")

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "(MAX_MEDIA_SIZE_MB)" in response.json()["detail"]


def test_an_unknown_media_type_is_400(promote):
    response = analyze(b"x", "hologram")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_media_type", "detail": "media_type is 'hologram'; use photo or audio."}


def test_an_analysis_depth_holding_a_nul_is_400_as_every_field_is():
    response = APIClient().post(
        "/api/v1/analyze/media",
        {"file": io.BytesIO(b"x"), "media_type": "photo", "analysis_depth": "quick\x00"},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json() == {"detail": NUL_DETAIL, "error": "nul_character"}


def test_video_is_refused_with_415(promote):
    response = analyze(b"\x00" * 100, "video", "clip.mp4")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_a_photo_that_is_not_an_image_is_400(promote, yolo_demo):
    promote("visual_detector", "yolo", yolo_demo.path)

    response = analyze(b"not an image at all", "photo", "x.jpg")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_image"


def test_analyze_health_is_degraded_until_every_media_model_has_an_active_version(promote, audio_demo):
    promote("audio_classifier", "audio_mlp", audio_demo.path, audio_demo.metadata)

    body = APIClient().get("/api/v1/analyze/health").json()

    assert (body["status"], body["models_loaded"]) == ("degraded", False)
    assert body["supported_formats"]["audio"] == ["wav"]


def test_analyze_health_lists_video_among_the_old_formats_and_supports_none():
    body = APIClient().get("/api/v1/analyze/health").json()

    # the old service's three keys; video uploads are refused with 415 (test_video_is_refused_with_415)
    assert body["supported_formats"] == {
        "photo": ["jpg", "jpeg", "png", "webp", "bmp"],
        "video": [],
        "audio": ["wav"],
    }
