"""The demo visual detector seed_demo makes active: a YOLOv8n trained from scratch on synthetic shapes.

The file is committed with Atlas (inference/data/shapes_yolov8n.pt, with its training record
shapes_yolov8n.json and three demo images): training it takes minutes (`manage.py train_demo_detector`
remakes all of them), so seed_demo registers the committed file instead. It finds circles, squares and
triangles, so a fresh `make run` shows boxes on the demo images; it knows no people, weapons or vehicles.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from inference.demo import DemoArtifact
from inference.training.shapes import RECORD_FILENAME, TRAINED_FILENAME

MODEL_NAME = "visual_detector"
DATA = Path(__file__).resolve().parents[1] / "data"
VERSION = "1.1.0-shapes"


def build(dest_dir: Path) -> DemoArtifact:
    record = json.loads((DATA / RECORD_FILENAME).read_text())
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / TRAINED_FILENAME
    shutil.copyfile(DATA / TRAINED_FILENAME, path)
    validation = record["validation"]
    return DemoArtifact(
        model_name=MODEL_NAME,
        runtime="yolo",
        path=path,
        version=VERSION,
        description="YOLOv8 object detector with threat indicators (people, weapons, vehicles).",
        metrics={"mAP50": validation["mAP50"], "mAP50-95": validation["mAP50-95"]},
        metadata={
            "architecture": "yolov8n",
            "class_names": record["class_names"],
            "confidence": 0.25,
            "iou": 0.45,
            "imgsz": 320,
            "trained": True,
            "training": {key: record[key] for key in ("config", "duration_seconds", "validation")},
        },
        notes=(
            "Demo: a YOLOv8n trained from scratch on synthetic circles, squares and triangles "
            f"({record['config']['epochs']} epochs, {record['duration_seconds']:.0f} s on CPU, validation mAP50 "
            f"{validation['mAP50']}); drop inference/data/shapes-demo-1.jpg on the playground."
        ),
    )
