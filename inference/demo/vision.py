"""An UNTRAINED visual detector: a YOLOv8n built from its yaml and saved as `.pt`, with COCO's class names.

No weights can be downloaded here, so the network has its initial random weights: it answers in the
right shape and at the right speed, but its detections mean nothing. Tests and benchmarks use it for
an 80-class network of the real size; seed_demo registers the trained shapes detector instead
(inference.demo.shapes). Register trained weights (a `.pt` or its `.onnx` export) to get real detections.
"""

from __future__ import annotations

from pathlib import Path

import torch

from inference.demo import DemoArtifact
from inference.runtimes.yolo import import_ultralytics

MODEL_NAME = "visual_detector"  # seed_demo skips building when this model has a version

# The 80 COCO classes, in YOLOv8's order (a network built from yaml names its classes "0".."79").
COCO_CLASS_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
]  # fmt: skip

DEMO_THRESHOLDS = {"person": 0.4, "knife": 0.3, "baseball bat": 0.35, "scissors": 0.35}


def build(dest_dir: Path, *, seed: int = 0) -> DemoArtifact:
    ultralytics = import_ultralytics()
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / "yolov8n.pt"
    with torch.random.fork_rng():  # the same weights on every build, without touching the caller's RNG
        torch.manual_seed(seed)
        model = ultralytics.YOLO("yolov8n.yaml", task="detect")
    part = path.with_name(path.name + ".part")
    model.save(part)
    part.replace(path)
    return DemoArtifact(
        model_name=MODEL_NAME,
        runtime="yolo",
        path=path,
        version="1.0.0-untrained",
        description="YOLOv8 object detector with threat indicators (people, weapons, vehicles).",
        metrics={},
        metadata={
            "architecture": "yolov8n",
            "class_names": COCO_CLASS_NAMES,
            "thresholds": DEMO_THRESHOLDS,
            "confidence": 0.25,
            "iou": 0.45,
            "imgsz": 640,
            "trained": False,
            "seed": seed,
        },
        notes=(
            "UNTRAINED: a YOLOv8n built from yolov8n.yaml with its initial random weights (no weights can be "
            "downloaded here). Its detections are meaningless; register trained weights as a new version."
        ),
    )
