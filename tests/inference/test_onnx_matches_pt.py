"""Issue 28: the ONNX form of the trained demo detector (`upload_model --onnx` exports it the same way) answers
the demo images as its `.pt` does: the same classes, boxes within 2 pixels, confidences within 0.02."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.demo import shapes
from inference.runtimes import yolo

DATA = Path(__file__).resolve().parents[2] / "inference" / "data"
BOX_TOLERANCE_PX = 2.0
CONFIDENCE_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def both_forms(tmp_path_factory):
    demo = shapes.build(tmp_path_factory.mktemp("shapes"))
    onnx = yolo.export_onnx(demo.path, tmp_path_factory.mktemp("onnx") / "shapes.onnx", imgsz=demo.metadata["imgsz"])
    return yolo.load(demo.path, metadata=demo.metadata), yolo.load(onnx, metadata=demo.metadata)


def by_position(detections: list[dict]) -> list[dict]:
    return sorted(detections, key=lambda d: (d["class"], d["bbox"]))


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("shapes-demo-*.jpg")))
def test_the_onnx_form_answers_the_demo_image_as_the_pt_does(both_forms, name):
    pt, onnx = both_forms
    image = Image.open(DATA / name)

    from_pt, from_onnx = by_position(pt.detect(image)), by_position(onnx.detect(image))

    assert (pt.format, onnx.format) == ("pt", "onnx")
    assert [d["class"] for d in from_onnx] == [d["class"] for d in from_pt] != []
    np.testing.assert_allclose([d["bbox"] for d in from_onnx], [d["bbox"] for d in from_pt], atol=BOX_TOLERANCE_PX)
    np.testing.assert_allclose(
        [d["confidence"] for d in from_onnx], [d["confidence"] for d in from_pt], atol=CONFIDENCE_TOLERANCE
    )
