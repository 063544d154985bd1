"""The yolo runtime and POST /api/v1/detect, with a real YOLOv8n (built from its yaml, untrained) saved
as .pt and exported to .onnx, on scikit-learn's real photo china.jpg, through the real registry."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from rest_framework.test import APIClient
from sklearn.datasets import load_sample_image

from inference.demo import vision
from inference.runtimes import yolo
from models_registry import services

DETECTION_KEYS = {"class", "class_id", "confidence", "bbox"}
RESPONSE_KEYS = {"detections", "threat_analysis", "image", "model", "version", "inference_ms"}
ANALYSIS_KEYS = {"people_count", "weapons_detected", "vehicle_count", "threat_indicators", "threat_score"}
# An untrained network scores every box near 1e-4: this threshold lets some through, so the shape of a
# detection is checked on real output.
LOW_CONFIDENCE = {"confidence": 1e-4, "thresholds": {}}


@pytest.fixture(scope="session")
def yolo_demo(tmp_path_factory):
    return vision.build(tmp_path_factory.mktemp("yolo"))


@pytest.fixture(scope="session")
def yolo_onnx(yolo_demo, tmp_path_factory):
    return yolo.export_onnx(yolo_demo.path, tmp_path_factory.mktemp("onnx") / "yolov8n.onnx")


@pytest.fixture(scope="session")
def china():
    return Image.fromarray(load_sample_image("china.jpg"))


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def promote(django_capture_on_commit_callbacks):
    def make(path, *, version: str, metadata: dict):
        registered = services.model_version_register(
            model_name="visual_detector",
            version=version,
            source=path,
            runtime="yolo",
            metadata=metadata,
            actor="t",
        )
        if registered.format == "pt":  # an ultralytics .pt runs code on load: it must be trusted first
            services.model_version_trust(version=registered, actor="t")
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_promote(version=registered, actor="t")
        return registered

    return make


def assert_detection_shape(detection: dict, width: int, height: int) -> None:
    assert set(detection) == DETECTION_KEYS
    x1, y1, x2, y2 = detection["bbox"]
    assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
    assert detection["class"] == vision.COCO_CLASS_NAMES[detection["class_id"]]
    assert 1e-4 <= detection["confidence"] <= 1


# --- the runtime ------------------------------------------------------------------------------------


def test_pt_and_onnx_answer_detections_of_the_same_shape(yolo_demo, yolo_onnx, china):
    metadata = {**yolo_demo.metadata, **LOW_CONFIDENCE}
    from_pt = yolo.load(yolo_demo.path, metadata=metadata).detect(china)
    from_onnx = yolo.load(yolo_onnx, metadata=metadata).detect(china)

    assert from_pt and from_onnx
    for detection in from_pt + from_onnx:
        assert_detection_shape(detection, china.width, china.height)


def test_onnx_export_keeps_the_class_count_and_input_size(yolo_onnx):
    predictor = yolo.load(yolo_onnx, metadata={})

    assert predictor.format == "onnx"
    assert predictor.backend.imgsz == 640
    assert predictor.class_names == [str(i) for i in range(80)]  # built from yaml: no names of its own


def test_onnx_export_leaves_the_pt_folder_untouched(yolo_demo, yolo_onnx):
    assert yolo_onnx.name == "yolov8n.onnx" and yolo_onnx.stat().st_size > 1_000_000
    assert [p.name for p in yolo_demo.path.parent.iterdir()] == ["yolov8n.pt"]


def test_demo_metadata_names_the_coco_classes_and_says_untrained(yolo_demo):
    assert len(yolo_demo.metadata["class_names"]) == 80
    assert yolo_demo.metadata["class_names"][:3] == ["person", "bicycle", "car"]
    assert yolo_demo.metadata["trained"] is False
    assert "UNTRAINED" in yolo_demo.notes


# --- the endpoint ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detect_answers_the_old_shape_from_the_pt_version(yolo_demo, china, promote):
    promote(yolo_demo.path, version="1.0.0", metadata=yolo_demo.metadata)

    response = APIClient().post("/api/v1/detect", {"file": io.BytesIO(encoded(china, "JPEG"))}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert set(body["threat_analysis"]) == ANALYSIS_KEYS
    assert body["image"] == {"width": 640, "height": 427}
    assert (body["model"], body["version"]) == ("visual_detector", "1.0.0")
    assert body["inference_ms"] > 0
    for detection in body["detections"]:
        assert_detection_shape(detection, 640, 427)


@pytest.mark.django_db
def test_detect_serves_the_onnx_version_from_a_raw_png_body(yolo_demo, yolo_onnx, china, promote):
    promote(yolo_onnx, version="1.0.0-onnx", metadata={**yolo_demo.metadata, **LOW_CONFIDENCE})

    response = APIClient().post("/api/v1/detect", encoded(china, "PNG"), content_type="image/png")

    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"], body["image"]) == (
        "visual_detector",
        "1.0.0-onnx",
        {"width": 640, "height": 427},
    )
    assert body["detections"]
    for detection in body["detections"]:
        assert_detection_shape(detection, 640, 427)


@pytest.mark.django_db
def test_detect_without_an_active_version_answers_503(china):
    response = APIClient().post("/api/v1/detect", encoded(china, "JPEG"), content_type="image/jpeg")

    assert response.status_code == 503
    assert response.json()["model"] == "visual_detector"


def test_a_body_that_is_not_an_image_type_is_415():
    response = APIClient().post("/api/v1/detect", b"hello", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert "'text/plain' is not accepted" in response.json()["detail"]


def test_a_multipart_file_of_another_type_is_415():
    upload = io.BytesIO(b"hello")
    upload.name = "notes.txt"

    response = APIClient().post("/api/v1/detect", {"file": upload}, format="multipart")

    assert response.status_code == 415
    assert "'text/plain'" in response.json()["detail"]


def test_bytes_that_do_not_decode_as_an_image_are_400():
    response = APIClient().post("/api/v1/detect", b"\xff\xd8\xff not really a jpeg", content_type="image/jpeg")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_image"


def test_an_unrecognised_image_is_refused_without_the_servers_internals():
    response = APIClient().post("/api/v1/detect", b"not an image", content_type="image/jpeg")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_image",
        "detail": "The upload is not a readable image (JPEG, PNG, WEBP, BMP): its format is not one of these.",
    }


def test_a_truncated_jpeg_is_400(china):
    data = encoded(china, "JPEG")

    response = APIClient().post("/api/v1/detect", data[: len(data) // 2], content_type="image/jpeg")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_image"


def test_multipart_without_the_file_field_is_400():
    response = APIClient().post("/api/v1/detect", {"image": "x"}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {
        "error": "missing_file",
        "detail": "Send a JPEG or PNG image in the multipart field 'file'.",
    }


def test_a_body_over_the_upload_limit_is_413(settings):
    settings.ATLAS_MAX_UPLOAD_MB = 1

    response = APIClient().post("/api/v1/detect", bytes(1_500_000), content_type="image/jpeg")

    assert response.status_code == 413
    assert response.json()["detail"] == "The upload is 1.4 MB; the limit is 1 MB (ATLAS_MAX_UPLOAD_MB)."


def test_a_decompression_bomb_is_413_before_its_pixels_are_decoded():
    bomb = encoded(Image.new("1", (8000, 6000)), "PNG")  # 48 megapixels in a few kilobytes

    response = APIClient().post("/api/v1/detect", bomb, content_type="image/png")

    assert response.status_code == 413
    assert response.json()["detail"] == "The image is 8000x6000; at most 25,000,000 pixels (ATLAS_MAX_IMAGE_PIXELS)."
    assert len(bomb) < 100_000


def test_a_prediction_leaves_torch_threads_as_atlas_configured(settings, tmp_path):
    import torch

    from inference.demo import vision as vision_demo
    from inference.runtimes import yolo

    ultralytics_choice = yolo.import_ultralytics().utils.NUM_THREADS
    settings.ATLAS_TORCH_THREADS = ultralytics_choice + 1  # anything but what ultralytics would set
    demo = vision_demo.build(tmp_path)
    predictor = yolo.load(demo.path, metadata=demo.metadata)

    predictor.warm_up()  # ultralytics' select_device() runs here and sets torch's threads itself

    assert torch.get_num_threads() == ultralytics_choice + 1


def test_a_jpeg_with_exif_orientation_decodes_upright():
    from inference.api.vision import decode_image

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 10)).save(buffer, format="JPEG", exif=exif)

    image = decode_image(buffer.getvalue())

    assert (image.size, image.mode, image.getexif().get(0x0112)) == ((20, 40), "RGB", None)
