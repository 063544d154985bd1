"""Issue 10, case 2: an ONNX detector whose output has more classes than its names is refused when it
is loaded, not on the first request that scores one of the extra classes (an IndexError, a 500).

The detector is a real ONNX graph built here: its box rows are constant and its third class scores the
image's mean brightness, so the grey warm-up image scores 0.45 (under the 0.5 threshold: no detection)
and a white image 1.0 (a detection of class 2, which two names do not cover)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from models_registry import services
from models_registry.models import ModelVersion

pytestmark = pytest.mark.django_db

ANCHORS = 10


def brightness_detector(path, *, classes: int) -> None:
    rows = 4 + classes
    weight = np.zeros((1, rows, ANCHORS), dtype=np.float32)
    weight[0, rows - 1] = 1.0  # the last class scores the mean brightness
    bias = np.zeros((1, rows, ANCHORS), dtype=np.float32)
    bias[0, :4] = np.array([[16], [16], [8], [8]], dtype=np.float32)  # cx, cy, w, h
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
            helper.make_node("Mul", ["mean", "weight"], ["scaled"]),
            helper.make_node("Add", ["scaled", "bias"], ["output0"]),
        ],
        "brightness",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, rows, ANCHORS])],
        initializer=[numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_an_onnx_detector_with_more_classes_than_names_is_refused_at_promotion(tmp_path):
    path = tmp_path / "three-classes.onnx"
    brightness_detector(path, classes=3)
    version = services.model_version_register(
        model_name="visual_detector",
        version="1.0.0",
        source=path,
        runtime="yolo",
        metadata={"class_names": ["person", "car"], "confidence": 0.5},
        actor="t",
    )

    with pytest.raises(services.PromotionError) as refused:
        services.model_version_promote(version=version, actor="t")

    assert str(refused.value) == (
        "visual_detector@1.0.0 failed to load or warm up: ValueError: metadata['class_names'] has 2 names; "
        "the model has 3 classes."
    )
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.FAILED
