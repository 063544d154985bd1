"""manage.py train_demo_detector: make the demo detector that seed_demo registers (a few minutes of CPU).

Generates the seeded shapes dataset, trains a YOLOv8n from its yaml on it, and writes into --out
(default inference/data/, where the results are committed):

    shapes_yolov8n.pt      the trained weights (ultralytics .pt; its class names are inside)
    shapes_yolov8n.json    how it was made: config, training time, validation mAP50 and friends
    shapes-demo-N.jpg      demo images drawn by the same generator (other seeds), and shapes-demo.json

Registering nothing: `manage.py seed_demo` registers the committed file as visual_detector 1.1.0-shapes.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.training.shapes import (
    RECORD_FILENAME,
    TRAINED_FILENAME,
    ShapesTrainConfig,
    train_shapes_detector,
    write_demo_images,
)

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data"


class Command(BaseCommand):
    help = "Train the demo shapes detector (YOLOv8n from yaml, CPU) and write it with its demo images."

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = ShapesTrainConfig()
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="(default: %(default)s)")
        parser.add_argument("--epochs", type=int, default=defaults.epochs, help="(default: %(default)s)")
        parser.add_argument("--imgsz", type=int, default=defaults.imgsz, help="(default: %(default)s)")
        parser.add_argument("--batch", type=int, default=defaults.batch, help="(default: %(default)s)")
        parser.add_argument("--train-images", type=int, default=defaults.train_images, help="(default: %(default)s)")
        parser.add_argument("--val-images", type=int, default=defaults.val_images, help="(default: %(default)s)")
        parser.add_argument("--seed", type=int, default=defaults.seed, help="(default: %(default)s)")
        parser.add_argument("--demo-only", action="store_true", help="Only (re)draw the demo images.")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if not out.is_dir():
            raise CommandError(f"--out {out}: no such folder.")
        for path, shapes in write_demo_images(out):
            self.stdout.write(f"{path.name}: {', '.join(f'{s.colour} {s.name}' for s in shapes)}")
        if options["demo_only"]:
            return
        config = ShapesTrainConfig(
            epochs=options["epochs"],
            imgsz=options["imgsz"],
            batch=options["batch"],
            train_images=options["train_images"],
            val_images=options["val_images"],
            seed=options["seed"],
        )
        if min(config.epochs, config.imgsz, config.batch, config.train_images, config.val_images) < 1:
            raise CommandError("--epochs, --imgsz, --batch, --train-images and --val-images must be >= 1.")
        with tempfile.TemporaryDirectory(prefix="train-shapes-") as scratch:
            run = train_shapes_detector(out / TRAINED_FILENAME, config=config, scratch=Path(scratch))
        (out / RECORD_FILENAME).write_text(json.dumps(run.record, indent=1) + "\n")
        validation = run.record["validation"]
        self.stdout.write(
            f"Trained in {run.record['duration_seconds']:.0f} s: validation mAP50 {validation['mAP50']:.3f} "
            f"(mAP50-95 {validation['mAP50-95']:.3f}) on {validation['images']} images; wrote {run.path} "
            f"({run.record['size_bytes']:,} bytes) and {RECORD_FILENAME}."
        )
