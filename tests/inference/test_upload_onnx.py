"""upload_model --onnx: a YOLO .pt and its ONNX export, both registered and both servable."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from inference.demo import vision
from models_registry import services
from models_registry.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_upload_with_onnx_registers_the_export_as_v_plus_onnx_and_it_promotes(tmp_path):
    demo = vision.build(tmp_path)

    call_command(
        "upload_model",
        "visual_detector",
        str(demo.path),
        "--version",
        "2.0.0",
        "--onnx",
        stdout=StringIO(),
        stderr=StringIO(),
    )

    versions = dict(ModelVersion.objects.values_list("version", "format"))
    assert versions == {"2.0.0": "pt", "2.0.0+onnx": "onnx"}
    event = services.model_version_promote(version=ModelVersion.objects.get(version="2.0.0+onnx"), actor="t")
    assert event.to_version.version == "2.0.0+onnx"


def test_upload_with_onnx_exports_at_the_input_size_of_the_metadata(tmp_path):
    """The .pt is served at metadata["imgsz"]: an export at another size would answer other boxes, slower."""
    import json

    import onnxruntime

    demo = vision.build(tmp_path)
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"imgsz": 320}))

    call_command(
        "upload_model",
        "visual_detector",
        str(demo.path),
        "--version",
        "2.0.0",
        "--metadata",
        str(metadata),
        "--onnx",
        stdout=StringIO(),
        stderr=StringIO(),
    )

    exported = ModelVersion.objects.get(version="2.0.0+onnx")
    with services.model_version_file(version=exported) as path:
        shape = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()[0].shape
    assert shape == [1, 3, 320, 320]
