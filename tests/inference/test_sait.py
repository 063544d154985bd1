"""The SAIT edge channel: verification by the active audio classifier, the edge model's latest version
and its verified bytes from the registry, device telemetry recorded per device, and each device's status from it."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta

import numpy as np
import pytest
import soundfile
from django.utils import timezone
from rest_framework.test import APIClient

from inference.demo import audio as demo_audio
from models_registry import artifact_cache, selectors
from models_registry.models import DeviceReport, RegisteredModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_audio(promote_audio):
    return promote_audio("1.2.0")


def samples(name: str) -> np.ndarray:
    return demo_audio.synthesise(name, np.random.default_rng(5), 16_000, 1.5)


def wav_base64(name: str) -> str:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples(name), 16_000, subtype="PCM_16", format="WAV")
    return base64.b64encode(buffer.getvalue()).decode()


def pcm_base64(name: str) -> str:
    return base64.b64encode((np.clip(samples(name), -1, 1) * 32767).astype("<i2").tobytes()).decode()


def verify(**changes):
    body = {
        "device_id": "sait-007",
        "edge_class_id": 1,
        "edge_class_name": "gunshot",
        "edge_confidence": 0.6,
        "timestamp": "2026-01-05T10:00:00Z",
        **changes,
    }
    return APIClient().post("/api/v1/sait/verify", body, format="json")


# --- verify ----------------------------------------------------------------------------------------


def test_a_confident_edge_detection_without_audio_is_trusted():
    body = verify(edge_confidence=0.9).json()

    assert body.pop("processing_time_ms") >= 0
    assert body == {
        "verified": True,
        "edge_confidence": 0.9,
        "cloud_confidence": 0.9,
        "edge_class": 1,
        "cloud_class": 1,
        "action": "edge_detection_trusted",
        "final_category": "gunshot",
        "recommendations": ["High edge confidence - no cloud verification needed"],
    }


def test_an_unsure_edge_detection_without_audio_is_flagged():
    body = verify(edge_confidence=0.5).json()

    assert (body["verified"], body["action"], body["cloud_class"], body["final_category"]) == (
        False,
        "flagged_for_review",
        -1,
        "unknown",
    )


def test_a_gunshot_wav_confirms_the_edge_gunshot(active_audio):
    response = verify(audio_base64=wav_base64("gunshot"))

    body = response.json()
    assert response.status_code == 200
    assert (body["verified"], body["action"], body["final_category"]) == (True, "cloud_verified", "gunshot")
    assert body["cloud_class"] == active_audio.metadata["class_names"].index("gunshot")
    assert 0.0 < body["cloud_confidence"] <= 1.0
    assert (body["model"], body["version"]) == ("audio_classifier", "1.2.0")


def test_raw_pcm_of_a_siren_disagrees_with_an_edge_gunshot(active_audio):
    body = verify(audio_base64=pcm_base64("siren"), edge_confidence=0.3).json()

    assert (body["verified"], body["action"], body["final_category"]) == (False, "cloud_disagrees", "siren")


def test_audio_that_is_not_base64_is_400(active_audio):
    response = verify(audio_base64="***not base64***")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_audio"


def test_a_detection_without_its_confidence_is_400_naming_the_field():
    response = APIClient().post("/api/v1/sait/verify", {"device_id": "x"}, format="json")

    assert response.status_code == 400
    assert "edge_confidence" in response.json()


def test_location_takes_numbers():
    response = verify(edge_confidence=0.9, location={"lat": 59.33, "lon": 18})

    assert response.status_code == 200


@pytest.mark.parametrize(("field", "text"), [("edge_class_id", "1"), ("edge_confidence", "0.9")])
def test_a_number_sent_as_text_is_taken_as_the_old_services_lax_pydantic_took_it(field, text):
    response = verify(**{field: text})

    assert response.status_code == 200


def test_a_class_name_that_is_a_number_is_400_as_the_old_pydantic_str_refused_it():
    response = verify(edge_class_name=0)

    assert response.status_code == 400
    assert response.json() == {"edge_class_name": ["Not a valid string."]}


def test_location_takes_a_number_sent_as_text_as_the_old_service_did():
    response = verify(edge_confidence=0.9, location={"lat": "59.33", "lon": 18})

    assert response.status_code == 200


# --- the edge model over the air -------------------------------------------------------------------


def test_latest_is_the_edge_models_active_version_with_its_real_checksum(active_audio):
    body = APIClient().get("/api/v1/sait/models/latest?device_type=nrf5340&current_version=1.0.0").json()

    assert body["model_version"] == "1.2.0"
    assert body["checksum"] == f"sha256:{active_audio.sha256}"
    assert body["download_url"] == "/api/v1/sait/models/1.2.0/download"
    assert body["accuracy"] == active_audio.metrics["accuracy"]
    assert body["size_kb"] == -(-active_audio.size_bytes // 1024)
    assert body["num_classes"] == len(active_audio.metadata["class_names"])
    assert body["update_available"] is True


def test_latest_without_an_active_edge_model_is_404():
    response = APIClient().get("/api/v1/sait/models/latest")

    assert response.status_code == 404
    assert response.json() == {"detail": "The edge model 'audio_classifier' has no active version."}


def test_the_edge_model_is_a_setting(active_audio, settings):
    settings.ATLAS_EDGE_MODEL = "visual_detector"

    assert APIClient().get("/api/v1/sait/models/latest").status_code == 404


def test_download_streams_the_registered_bytes(active_audio, audio_demo):
    response = APIClient().get("/api/v1/sait/models/1.2.0/download?format=tflite")

    data = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert data == audio_demo.path.read_bytes()
    assert f"sha256:{hashlib.sha256(data).hexdigest()}" == response["X-Checksum"] == f"sha256:{active_audio.sha256}"
    assert response["X-Model-Version"] == "1.2.0"


def test_a_download_holds_its_cached_file_until_the_response_closes(active_audio):
    response = APIClient().get("/api/v1/sait/models/1.2.0/download")

    cleared_while_streaming = artifact_cache.clear()
    response.close()
    cleared_after = artifact_cache.clear()

    assert response.status_code == 200
    assert [name for name in cleared_while_streaming if name.startswith(active_audio.sha256)] == []
    assert [name for name in cleared_after if name.startswith(active_audio.sha256)] == [
        f"{active_audio.sha256}.{active_audio.format}"
    ]


def test_download_of_tampered_bytes_is_refused(active_audio, settings):
    stored = settings.MODEL_STORE_DIR / active_audio.location
    stored.write_bytes(b"tampered" + stored.read_bytes()[8:])
    for cached in settings.MODEL_CACHE_DIR.rglob("*"):
        if cached.is_file():
            cached.write_bytes(b"tampered")

    response = APIClient().get("/api/v1/sait/models/1.2.0/download")

    assert response.status_code == 503
    assert "cannot be served" in response.json()["detail"]


def test_download_of_an_unknown_version_is_404(active_audio):
    assert APIClient().get("/api/v1/sait/models/9.9.9/download").status_code == 404


# --- telemetry -------------------------------------------------------------------------------------


def telemetry(**body):
    return APIClient().post("/api/v1/sait/telemetry", body, format="json")


def test_telemetry_records_the_version_each_device_runs(active_audio):
    telemetry(device_id="sait-1", model_version="1.2.0", battery_percent=80)
    telemetry(device_id="sait-2", model_version="1.0.0")
    response = telemetry(device_id="sait-1", model_version="1.2.0", battery_percent=79)

    assert response.status_code == 200
    assert response.json()["device_id"] == "sait-1"
    assert response.json()["alerts"] == []
    model = RegisteredModel.objects.get(name="audio_classifier")
    assert selectors.device_summary(model=model) == {"total": 2, "on_active": 1}
    assert DeviceReport.objects.get(device_id="sait-1").telemetry["battery_percent"] == 79


@pytest.mark.parametrize("field", ["device_id", "model_version"])
def test_telemetry_with_a_nul_in_a_text_field_is_400_as_every_field(field):
    body = {"device_id": "edge-1", "model_version": "1.0.0"} | {field: "edge\x00one"}

    response = telemetry(**body)

    assert response.status_code == 400
    assert response.json()["error"] == "nul_character"


def test_telemetry_without_a_device_id_is_400():
    response = telemetry(battery_percent=80)

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "detail": "device_id must be a string of 1 to 200 characters.",
    }


@pytest.mark.parametrize("path", ["/api/v1/sait/telemetry", "/api/v1/sait/verify"])
def test_absurdly_nested_json_is_400_not_500(path):
    response = APIClient().post(path, b"[" * 50_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


# --- device status ---------------------------------------------------------------------------------


def device_status(device_id: str):
    return APIClient().get(f"/api/v1/sait/devices/{device_id}/status")


def test_device_status_is_the_old_shape_from_the_last_telemetry(active_audio):
    telemetry(device_id="sait-1", model_version="1.0.0", battery_percent=90)
    telemetry(
        device_id="sait-1",
        model_version="1.2.0",
        battery_percent=87,
        network={"mesh_neighbors": 5, "signal_strength": -65},
        recent_detections=23,
        uptime_hours=720.5,
        location={"lat": 59.3, "lon": 18.1},
    )
    last_seen = DeviceReport.objects.get(device_id="sait-1").last_seen.isoformat()

    response = device_status("sait-1")

    assert response.status_code == 200
    assert response.json() == {
        "device_id": "sait-1",
        "status": "online",
        "last_seen": last_seen,
        "model_version": "1.2.0",
        "battery_percent": 87,
        "network": {"mesh_neighbors": 5, "signal_strength": -65, "last_sync": last_seen},
        "recent_detections": 23,
        "uptime_hours": 720.5,
        "model": "audio_classifier",
        "on_active_version": True,
    }


def test_device_status_gives_null_for_what_the_device_did_not_report(active_audio):
    telemetry(device_id="sait-2", model_version="0.9.0", uptime_seconds=86400, detections_count=42, battery_voltage=3.6)

    body = device_status("sait-2").json()

    assert (body["battery_percent"], body["network"]["mesh_neighbors"], body["network"]["signal_strength"]) == (
        None,
        None,
        None,
    )
    assert (body["uptime_hours"], body["recent_detections"]) == (24.0, 42)
    assert (body["model_version"], body["on_active_version"]) == ("0.9.0", False)


def test_a_device_silent_for_longer_than_the_online_window_is_offline(active_audio):
    telemetry(device_id="sait-3", model_version="1.2.0")
    DeviceReport.objects.filter(device_id="sait-3").update(last_seen=timezone.now() - timedelta(minutes=16))

    assert device_status("sait-3").json()["status"] == "offline"


def test_the_status_of_a_device_never_seen_is_404():
    response = device_status("sait-never")

    assert response.status_code == 404
    assert response.json() == {"detail": "Device 'sait-never' has never sent telemetry."}
