"""The demo detector seed_demo makes active (inference/data/shapes_yolov8n.pt, trained on synthetic shapes)
finds the shapes of the committed demo images through POST /api/v1/detect."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from inference.management.commands import seed_demo
from models_registry.models import RegisteredModel

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / "inference" / "data"
TRUTH = json.loads((DATA / "shapes-demo.json").read_text())


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setattr(seed_demo, "DEMO_BUILDERS", ["inference.demo.shapes.build"])
    call_command("seed_demo", stdout=io.StringIO())


def test_seed_demo_makes_the_trained_shapes_detector_active(seeded):
    active = RegisteredModel.objects.get(name="visual_detector").active_version

    assert (active.version, active.metadata["class_names"], active.metadata["trained"]) == (
        "1.1.0-shapes",
        ["circle", "square", "triangle"],
        True,
    )
    assert active.metrics["mAP50"] >= 0.95
    assert active.trusted_by == "seed_demo"


@pytest.mark.parametrize("image", sorted(TRUTH))
def test_the_demo_detector_finds_every_shape_of_a_demo_image(client, seeded, image):
    response = client.post("/api/v1/detect", data=(DATA / image).read_bytes(), content_type="image/jpeg")

    assert response.status_code == 200
    body = response.json()
    assert sorted(d["class"] for d in body["detections"]) == sorted(shape["name"] for shape in TRUTH[image])
    assert (body["model"], body["version"]) == ("visual_detector", "1.1.0-shapes")
