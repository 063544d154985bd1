"""The demo detector's training run: a synthetic, seeded dataset of shapes and a YOLOv8n trained on it.

Every image is made here, from a seed: a two-colour gradient background with noise and a few thin
stray lines, and 1-4 filled shapes (circle, square, triangle) in saturated colours, at random
positions, sizes and angles, never overlapping. Labels are YOLO's: `class cx cy w h`, normalised.
The same generator draws the demo images the playground is shown (larger canvases, other seeds).

The network is built from `yolov8n.yaml` (random initial weights: nothing is downloaded) and trained
by ultralytics on the CPU at a small input size; the run is timed and its validation mAP50 measured
by ultralytics on the held-out images. `manage.py train_demo_detector` runs it and writes the files
that are committed under inference/data/ and that `seed_demo` registers.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

CLASS_NAMES = ("circle", "square", "triangle")
COLOURS = {  # saturated, so they stand out from the muted backgrounds
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 30),
    "magenta": (200, 50, 190),
    "orange": (245, 130, 20),
}
MAX_SHAPES = 4
TRAINED_FILENAME = "shapes_yolov8n.pt"
RECORD_FILENAME = "shapes_yolov8n.json"
DEMO_IMAGE_SIZE = (480, 360)
DEMO_IMAGE_COUNT = 3
DEMO_SHAPES = 4  # shapes tried on each demo image (fewer when no free place is found)
DEMO_SEED_BASE = 1_000_000  # demo image i uses seed DEMO_SEED_BASE + i: never one of the training seeds


@dataclass(frozen=True)
class Shape:
    name: str  # one of CLASS_NAMES
    colour: str  # a key of COLOURS
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels, tight around the drawn shape

    @property
    def class_id(self) -> int:
        return CLASS_NAMES.index(self.name)


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A muted two-colour gradient in a random direction, with Gaussian noise."""
    start, end = rng.uniform(70, 190, size=(2, 3))
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (xs * math.cos(angle) + ys * math.sin(angle)) / (abs(width * math.cos(angle)) + abs(height * math.sin(angle)))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    pixels = start[None, None, :] * (1 - t[..., None]) + end[None, None, :] * t[..., None]
    pixels += rng.normal(0, rng.uniform(4, 14), size=pixels.shape)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")


def _polygon(name: str, cx: float, cy: float, size: float, angle: float) -> list[tuple[float, float]]:
    if name == "square":
        corners: list[tuple[float, float]] = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        radius = size / 2
    else:  # an equilateral triangle whose circumscribed circle has diameter `size`
        corners = [(math.cos(a), math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        radius = size / 2
    cos, sin = math.cos(angle), math.sin(angle)
    return [(cx + radius * (x * cos - y * sin), cy + radius * (x * sin + y * cos)) for x, y in corners]


def _overlaps(box: tuple[float, float, float, float], others: list[Shape], margin: float) -> bool:
    x1, y1, x2, y2 = box
    return any(
        x1 - margin < o.box[2] and o.box[0] < x2 + margin and y1 - margin < o.box[3] and o.box[1] < y2 + margin
        for o in others
    )


def draw_scene(seed: int, width: int, height: int, *, count: int | None = None) -> tuple[Image.Image, list[Shape]]:
    """One image and its shapes (`count` tries, else 1..MAX_SHAPES), the same for the same arguments."""
    rng = np.random.default_rng(seed)
    image = _background(rng, width, height)
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    for _ in range(int(rng.integers(0, 4))):  # stray lines: edges that are not shapes
        ends = rng.uniform(0, 1, size=4) * (width, height, width, height)
        grey = int(rng.integers(40, 220))
        draw.line([tuple(ends[:2]), tuple(ends[2:])], fill=(grey, grey, grey), width=int(rng.integers(1, 3)))
    shapes: list[Shape] = []
    tries = int(rng.integers(1, MAX_SHAPES + 1))
    for _ in range(tries if count is None else count):
        for _attempt in range(20):
            name = CLASS_NAMES[int(rng.integers(len(CLASS_NAMES)))]
            size = float(rng.uniform(0.14, 0.38)) * side
            cx, cy = rng.uniform(size / 2 + 2, (width - size / 2 - 2, height - size / 2 - 2))
            angle = float(rng.uniform(-math.pi / 6, math.pi / 6))
            points = None if name == "circle" else _polygon(name, cx, cy, size, angle)
            if points is None:
                box = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
            else:
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                box = (min(xs), min(ys), max(xs), max(ys))
            if not _overlaps(box, shapes, margin=0.02 * side):
                break
        else:
            continue  # no free place for another shape: the image keeps fewer
        colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
        if points is None:
            draw.ellipse(box, fill=COLOURS[colour])
        else:
            draw.polygon(points, fill=COLOURS[colour])
        x1, y1, x2, y2 = (round(float(v), 2) for v in box)
        shapes.append(Shape(name=name, colour=colour, box=(x1, y1, x2, y2)))
    return image, shapes


def yolo_label(shapes: list[Shape], width: int, height: int) -> str:
    lines = []
    for shape in shapes:
        x1, y1, x2, y2 = shape.box
        cx, cy, w, h = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height
        lines.append(f"{shape.class_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_dataset(root: Path, *, train: int, val: int, size: int, seed: int) -> Path:
    """images/{train,val}/*.png, labels/{train,val}/*.txt and data.yaml under `root`; returns data.yaml."""
    for split, count, offset in (("train", train, 0), ("val", val, train)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image, shapes = draw_scene(seed * 100_000 + offset + index, size, size)
            image.save(root / "images" / split / f"{index:05d}.png")
            (root / "labels" / split / f"{index:05d}.txt").write_text(yolo_label(shapes, size, size))
    data = root / "data.yaml"
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(CLASS_NAMES))
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    return data


def write_demo_images(folder: Path, *, count: int = DEMO_IMAGE_COUNT) -> list[tuple[Path, list[Shape]]]:
    """shapes-demo-N.jpg (and their shapes in shapes-demo.json) drawn by the training generator."""
    folder.mkdir(parents=True, exist_ok=True)
    written, truth = [], {}
    for index in range(count):
        image, shapes = draw_scene(DEMO_SEED_BASE + index, *DEMO_IMAGE_SIZE, count=DEMO_SHAPES)
        path = folder / f"shapes-demo-{index + 1}.jpg"
        image.save(path, quality=85, optimize=True)
        written.append((path, shapes))
        truth[path.name] = [asdict(s) for s in shapes]
    (folder / "shapes-demo.json").write_text(json.dumps(truth, indent=1) + "\n")
    return written


@dataclass(frozen=True)
class ShapesTrainConfig:
    epochs: int = 35  # what made the committed inference/data/shapes_yolov8n.pt (its .json records it)
    imgsz: int = 160
    batch: int = 8
    train_images: int = 600
    val_images: int = 120
    seed: int = 0
    warmup_epochs: float = 1.0
    close_mosaic: int = 5  # the last epochs train on plain images, as they are served
    extra: dict[str, Any] = field(default_factory=dict)  # further ultralytics train() arguments


@dataclass(frozen=True)
class ShapesTrainingRun:
    path: Path
    record: dict[str, Any]  # config, duration, validation metrics: what the committed JSON holds


def train_shapes_detector(dest: Path, *, config: ShapesTrainConfig, scratch: Path) -> ShapesTrainingRun:
    """Generate the dataset in `scratch`, train a YOLOv8n from its yaml, copy the best weights to `dest`."""
    import torch

    from inference.runtimes.yolo import import_ultralytics

    ultralytics = import_ultralytics()
    data = write_dataset(
        scratch / "dataset", train=config.train_images, val=config.val_images, size=config.imgsz, seed=config.seed
    )
    previous_threads = torch.get_num_threads()  # ultralytics trains on cpu_count - 1 threads (1 on two cores)
    previous_deterministic = torch.are_deterministic_algorithms_enabled()  # deterministic=True sets it process-wide
    torch.manual_seed(config.seed)
    model = ultralytics.YOLO("yolov8n.yaml", task="detect")
    started = time.perf_counter()
    try:
        model.train(
            data=str(data),
            epochs=config.epochs,
            imgsz=config.imgsz,
            batch=config.batch,
            device="cpu",
            workers=0,
            seed=config.seed,
            deterministic=True,
            pretrained=False,
            amp=False,
            plots=False,
            project=str(scratch / "runs"),
            name="train",
            exist_ok=True,
            verbose=False,
            warmup_epochs=config.warmup_epochs,
            close_mosaic=config.close_mosaic,
            **config.extra,
        )
        train_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic)
    seconds = time.perf_counter() - started
    best = Path(model.trainer.best)
    metrics = model.trainer.metrics  # the final validation of best.pt on the held-out images
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    shutil.copyfile(best, part)
    part.replace(dest)
    record = {
        "architecture": "yolov8n (from yolov8n.yaml, random initial weights, no pretrained weights)",
        "class_names": list(CLASS_NAMES),
        "config": {k: v for k, v in asdict(config).items() if k != "extra"} | config.extra,
        "duration_seconds": round(seconds, 1),
        "torch_threads": train_threads,
        "validation": {
            "images": config.val_images,
            "mAP50": round(float(metrics["metrics/mAP50(B)"]), 4),
            "mAP50-95": round(float(metrics["metrics/mAP50-95(B)"]), 4),
            "precision": round(float(metrics["metrics/precision(B)"]), 4),
            "recall": round(float(metrics["metrics/recall(B)"]), 4),
        },
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "size_bytes": dest.stat().st_size,
    }
    return ShapesTrainingRun(path=dest, record=record)
