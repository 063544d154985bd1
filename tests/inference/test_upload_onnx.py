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
