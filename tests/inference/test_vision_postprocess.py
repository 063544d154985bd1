"""The yolo runtime's NumPy pre- and post-processing, on crafted arrays with exact answers."""

from __future__ import annotations

import numpy as np
import pytest

from inference.runtimes import yolo


class FixedBackend:
    """Answers the same raw detections for any image: isolates the predictor's own thresholding."""

    names = ["person", "knife", "car"]
    n_classes = 3  # the width of its (made-up) output, as the real backends read it from the model

    def __init__(self, boxes, scores, class_ids):
        self.result = (np.asarray(boxes, float), np.asarray(scores, float), np.asarray(class_ids, np.int64))
        self.asked: list[float] = []

    def raw(self, image, *, min_confidence, iou):
        self.asked.append(min_confidence)
        return self.result


def test_letterbox_scales_to_fit_and_pads_the_short_side_with_grey():
    image = np.full((100, 200, 3), (200, 10, 10), dtype=np.uint8)

    canvas, box = yolo.letterbox(image, 64)

    assert canvas.shape == (64, 64, 3)
    assert box == yolo.Letterbox(gain=0.32, pad_x=0, pad_y=16)
    assert (canvas[:16] == 114).all() and (canvas[48:] == 114).all()
    assert (canvas[16:48] == (200, 10, 10)).all()


def test_unletterbox_maps_boxes_back_to_the_original_pixels_and_clips_them():
    box = yolo.Letterbox(gain=0.32, pad_x=0, pad_y=16)
    boxes = np.array([[0.0, 16.0, 64.0, 48.0], [32.0, 0.0, 70.0, 64.0]])

    out = yolo.unletterbox(boxes, box, width=200, height=100)

    np.testing.assert_allclose(out, [[0, 0, 200, 100], [100, 0, 200, 100]])


def test_xywh_to_xyxy():
    out = yolo.xywh_to_xyxy(np.array([[50.0, 40.0, 20.0, 10.0]]))

    np.testing.assert_array_equal(out, [[40, 35, 60, 45]])


def test_nms_drops_a_box_overlapping_a_better_one_beyond_the_iou_threshold():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=float)  # IoU(0, 1) = 81/119
    scores = np.array([0.8, 0.9, 0.7])

    assert yolo.nms(boxes, scores, iou_threshold=0.45).tolist() == [1, 2]
    assert yolo.nms(boxes, scores, iou_threshold=0.7).tolist() == [1, 0, 2]


def test_decode_keeps_the_best_box_per_class_above_the_confidence():
    # 4 box rows + 3 class rows, 5 anchors (the head's layout: features x anchors).
    output = np.zeros((7, 5), dtype=np.float32)
    output[:4, 0], output[5, 0] = (50, 50, 20, 20), 0.9  # class 1
    output[:4, 1], output[5, 1] = (51, 51, 20, 20), 0.8  # class 1, overlaps anchor 0: suppressed
    output[:4, 2], output[6, 2] = (50, 50, 20, 20), 0.85  # class 2 at the same place: kept
    output[:4, 3], output[4, 3] = (10, 10, 4, 4), 0.1  # below the confidence

    boxes, scores, class_ids = yolo.decode_yolov8(output, min_confidence=0.25, iou_threshold=0.45)

    np.testing.assert_array_equal(boxes, [[40, 40, 60, 60], [40, 40, 60, 60]])
    np.testing.assert_allclose(scores, [0.9, 0.85])
    assert class_ids.tolist() == [1, 2]


def test_predictor_applies_each_class_threshold_after_the_backend():
    backend = FixedBackend(
        boxes=[[0, 0, 5, 5], [1, 1, 6, 6], [2, 2, 7, 7], [3, 3, 8, 8]],
        scores=[0.45, 0.35, 0.32, 0.2],
        class_ids=[0, 0, 1, 2],
    )
    predictor = yolo.VisualPredictor(
        backend, metadata={"thresholds": {"person": 0.4, "knife": 0.3}, "confidence": 0.25}, fmt="onnx"
    )

    detections = predictor.detect(yolo.Image.new("RGB", (8, 8)))

    assert backend.asked == [0.25]
    assert detections == [
        {"class": "person", "class_id": 0, "confidence": 0.45, "bbox": [0.0, 0.0, 5.0, 5.0]},
        {"class": "knife", "class_id": 1, "confidence": 0.32, "bbox": [2.0, 2.0, 7.0, 7.0]},
    ]


def test_threat_analysis_counts_people_weapons_and_vehicles():
    predictor = yolo.VisualPredictor(FixedBackend([], [], []), metadata={"crowd_size": 2}, fmt="onnx")
    detections = [{"class": c} for c in ("person", "person", "knife", "knife", "car", "truck", "dog")]

    analysis = predictor.threat_analysis(detections)

    assert analysis == {
        "people_count": 2,
        "weapons_detected": 2,
        "vehicle_count": 2,
        "threat_indicators": ["weapon:knife", "armed_person", "crowd", "weapon_near_vehicle"],
        "threat_score": 1.0,
    }


def test_threat_analysis_of_nothing_is_zero():
    predictor = yolo.VisualPredictor(FixedBackend([], [], []), metadata={}, fmt="onnx")

    assert predictor.threat_analysis([]) == {
        "people_count": 0,
        "weapons_detected": 0,
        "vehicle_count": 0,
        "threat_indicators": [],
        "threat_score": 0.0,
    }


def test_thresholds_for_a_class_the_model_lacks_are_refused():
    with pytest.raises(ValueError, match="thresholds'\\] names classes the model does not have: persn"):
        yolo.VisualPredictor(FixedBackend([], [], []), metadata={"thresholds": {"persn": 0.4}}, fmt="onnx")


def test_class_names_must_match_the_model():
    with pytest.raises(ValueError, match="has 2 names; the model has 3 classes"):
        yolo.VisualPredictor(FixedBackend([], [], []), metadata={"class_names": ["a", "b"]}, fmt="onnx")


def test_load_refuses_other_file_types(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"x")

    with pytest.raises(ValueError, match="serves .pt and .onnx files, not 'weights.h5'"):
        yolo.load(path, metadata={})
