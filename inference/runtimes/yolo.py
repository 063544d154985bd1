"""The `yolo` runtime: a YOLOv8 detector served from `.pt` (ultralytics) or `.onnx` (onnxruntime, CPU).

`load(path, metadata=...)` returns a `VisualPredictor`. Its `detect(image)` answers detections in the
original image's pixels, filtered by per-class confidence thresholds from the version's metadata:

    metadata = {"class_names": [...80 COCO names...],     # else the model's own names
                "thresholds": {"person": 0.4, "knife": 0.3},  # per class; others use "confidence"
                "confidence": 0.25, "iou": 0.45, "imgsz": 640,
                "weapon_classes": [...], "vehicle_classes": [...], "crowd_size": 10}

`.pt` files unpickle: the registry only hands them to this loader after their sha256 matched. `.onnx`
files run through onnxruntime directly with the NumPy letterbox and NMS below (about twice as fast on
CPU as ultralytics' own pipeline), so ultralytics is not even imported to serve them.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from inference.batching import DynamicBatcher

DEFAULT_CONFIDENCE = 0.25
DEFAULT_IOU = 0.45
DEFAULT_IMGSZ = 640
MAX_DETECTIONS = 300
MAX_NMS_CANDIDATES = 30_000
LETTERBOX_FILL = 114
WEAPON_CLASSES = ("knife", "gun", "pistol", "handgun", "rifle", "firearm", "weapon", "baseball bat")
VEHICLE_CLASSES = ("car", "truck", "bus", "motorcycle", "bicycle", "train", "boat", "airplane")
DEFAULT_CROWD_SIZE = 10


# --- ultralytics, imported lazily and offline ----------------------------------------------------------


def import_ultralytics() -> ModuleType:
    """Import ultralytics so that it never reaches the network.

    ultralytics reads YOLO_OFFLINE and YOLO_CONFIG_DIR from os.environ when it is first imported (it
    has no other way to be told), so this is the one place library code writes the environment: the
    values come from django.conf.settings. Without YOLO_OFFLINE it resolves DNS at import; without
    Arial.ttf in its config folder it downloads the font; both hang or fail on an offline machine.
    Importing twice is free (Python caches modules); the font copies happen once.
    """
    from django.conf import settings

    config_dir = Path(settings.YOLO_CONFIG_DIR)
    _install_fonts(config_dir)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    pillow_open = Image.open
    _remember_torch_threads()
    import ultralytics

    # Importing ultralytics replaces PIL.Image.open, process-wide, with a wrapper that tries to install
    # pi-heif from PyPI on any file Pillow cannot identify: a bad upload would reach for the network and
    # answer 500. Atlas keeps Pillow's own; ultralytics' detection path reads arrays, not files.
    patches = sys.modules.get("ultralytics.utils.patches")
    Image.open = getattr(patches, "_image_open", pillow_open)  # Pillow's, even if ultralytics came first
    return ultralytics


_torch_threads_default: int | None = None


def _remember_torch_threads() -> None:
    """torch's own thread count, read before ultralytics changes it (see `_restore_torch_threads`)."""
    global _torch_threads_default
    if _torch_threads_default is None:
        import torch

        _torch_threads_default = torch.get_num_threads()


def _restore_torch_threads() -> None:
    """ultralytics' select_device() sets torch's threads, process-wide, to cores - 1 (1 on two cores),
    which also throttles every other torch model in the worker (the audio classifier). Atlas decides:
    settings.ATLAS_TORCH_THREADS, or torch's own default when that is 0."""
    import torch
    from django.conf import settings

    wanted = settings.ATLAS_TORCH_THREADS or _torch_threads_default or torch.get_num_threads()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def _install_fonts(config_dir: Path) -> None:
    """Copy matplotlib's DejaVuSans.ttf where ultralytics looks for Arial (its own sub-folder)."""
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for folder in (config_dir, config_dir / "Ultralytics"):
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("Arial.ttf", "Arial.Unicode.ttf"):
            target = folder / name
            if not target.exists():
                part = folder / f"{name}.{os.getpid()}.part"  # workers starting together never share a .part
                shutil.copyfile(source, part)
                part.replace(target)


# --- pre- and post-processing in NumPy -------------------------------------------------------------------


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the network's square input: scale, then pad (left, top)."""

    gain: float
    pad_x: int
    pad_y: int


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Resize an HxWx3 uint8 image keeping its aspect ratio and pad it to size x size, as ultralytics does."""
    height, width = image.shape[:2]
    gain = min(size / height, size / width)
    new_w, new_h = max(round(width * gain), 1), max(round(height * gain), 1)
    pad_w, pad_h = (size - new_w) / 2, (size - new_h) / 2
    left, top = round(pad_w - 0.1), round(pad_h - 0.1)
    if (new_w, new_h) != (width, height):
        image = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BILINEAR))
    canvas = np.full((size, size, 3), LETTERBOX_FILL, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = image
    return canvas, Letterbox(gain=gain, pad_x=left, pad_y=top)


def unletterbox(boxes: np.ndarray, box: Letterbox, width: int, height: int) -> np.ndarray:
    """Map xyxy boxes from the network's input back to the original image, clipped to it."""
    out = boxes.astype(np.float64, copy=True)
    out[:, [0, 2]] = ((out[:, [0, 2]] - box.pad_x) / box.gain).clip(0, width)
    out[:, [1, 3]] = ((out[:, [1, 3]] - box.pad_y) / box.gain).clip(0, height)
    return out


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    out = np.empty_like(boxes)
    half_w, half_h = boxes[:, 2] / 2, boxes[:, 3] / 2
    out[:, 0], out[:, 1] = boxes[:, 0] - half_w, boxes[:, 1] - half_h
    out[:, 2], out[:, 3] = boxes[:, 0] + half_w, boxes[:, 1] + half_h
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression on xyxy boxes; returns kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
        union = areas[best] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_yolov8(
    output: np.ndarray, *, min_confidence: float, iou_threshold: float, max_detections: int = MAX_DETECTIONS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLOv8 head output (4 + classes, anchors) -> (xyxy boxes, scores, class ids) after class-wise NMS."""
    rows = output.T  # (anchors, 4 + classes): cx, cy, w, h, then one score per class
    class_scores = rows[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(rows)), class_ids]
    mask = scores >= min_confidence
    boxes, scores, class_ids = xywh_to_xyxy(rows[mask, :4]), scores[mask], class_ids[mask]
    if len(scores) > MAX_NMS_CANDIDATES:
        top = np.argsort(-scores, kind="stable")[:MAX_NMS_CANDIDATES]
        boxes, scores, class_ids = boxes[top], scores[top], class_ids[top]
    # Shift each class into its own region so one NMS pass never suppresses across classes.
    offsets = class_ids[:, None].astype(boxes.dtype) * 7680.0
    keep = nms(boxes + offsets, scores, iou_threshold)[:max_detections]
    return boxes[keep], scores[keep], class_ids[keep]


# --- the two backends -------------------------------------------------------------------------------------

# (xyxy boxes in the original image's pixels, scores, class ids), one row per detection.
RawDetections = tuple[npt.NDArray[np.float64], npt.NDArray[np.floating[Any]], npt.NDArray[np.int64]]


class DetectorBackend(Protocol):
    """What VisualPredictor needs from a backend: the class names the file carries, and raw detections."""

    @property
    def names(self) -> list[str] | None: ...

    @property
    def n_classes(self) -> int: ...

    def raw(self, image: npt.NDArray[np.uint8], *, min_confidence: float, iou: float) -> RawDetections: ...


class _OnnxBackend:
    def __init__(self, path: Path):
        import onnxruntime
        from django.conf import settings

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # As the onnx runtime's sessions: onnxruntime's default (a thread per core, in every worker) spins
        # threads that the other workers' need; on a busy machine that made a detection several times slower.
        options.intra_op_num_threads = settings.ATLAS_ONNX_THREADS
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ValueError(f"{path.name}: expected one NCHW image input, found {[i.shape for i in inputs]}")
        self.input_name = inputs[0].name
        side = inputs[0].shape[2]
        props = self.session.get_modelmeta().custom_metadata_map
        self.imgsz = side if isinstance(side, int) else _imgsz_from(props.get("imgsz"))
        self.names = _names_from(props.get("names"))
        output = self.session.get_outputs()[0].shape
        if len(output) != 3:
            raise ValueError(f"{path.name}: expected a YOLOv8 detection output (1, 4+classes, anchors), got {output}")
        width = output[1] if isinstance(output[1], int) else self._output_width()
        if width < 5:
            raise ValueError(f"{path.name}: the detection output has {width} rows; YOLOv8 has 4 box rows + classes.")
        self.n_classes = width - 4

    def _output_width(self) -> int:
        """The output's row count when the file leaves it symbolic: one pass on a blank input."""
        blank = np.zeros((1, 3, self.imgsz, self.imgsz), dtype=np.float32)
        return int(self.session.run(None, {self.input_name: blank})[0].shape[1])

    def raw(self, image: npt.NDArray[np.uint8], *, min_confidence: float, iou: float) -> RawDetections:
        height, width = image.shape[:2]
        canvas, box = letterbox(image, self.imgsz)
        tensor = (canvas.transpose(2, 0, 1)[None].astype(np.float32)) / 255.0
        (output,) = self.session.run(None, {self.input_name: tensor})[:1]
        boxes, scores, class_ids = decode_yolov8(output[0], min_confidence=min_confidence, iou_threshold=iou)
        return unletterbox(boxes, box, width, height), scores, class_ids


class _UltralyticsBackend:
    def __init__(self, path: Path, imgsz: int):
        ultralytics = import_ultralytics()
        self.model = ultralytics.YOLO(str(path), task="detect")
        if self.model.task != "detect":
            raise ValueError(f"{path.name} is a {self.model.task!r} model; the yolo runtime serves detection.")
        self.imgsz = imgsz
        self.names = [self.model.names[i] for i in sorted(self.model.names)]
        self.n_classes = len(self.names)
        self._lock = threading.Lock()  # ultralytics' predictor keeps per-call state

    def raw(self, image: npt.NDArray[np.uint8], *, min_confidence: float, iou: float) -> RawDetections:
        (detections,) = self.raw_batch([image], min_confidence=min_confidence, iou=iou)
        return detections

    def raw_batch(
        self, images: Sequence[npt.NDArray[np.uint8]], *, min_confidence: float, iou: float
    ) -> list[RawDetections]:
        """One forward pass for all the images (ultralytics letterboxes and stacks a list)."""
        with self._lock:
            results = self.model.predict(
                [image[:, :, ::-1] for image in images],  # ultralytics takes arrays as OpenCV's BGR
                conf=min_confidence,
                iou=iou,
                imgsz=self.imgsz,
                max_det=MAX_DETECTIONS,
                device="cpu",
                verbose=False,
            )
            _restore_torch_threads()
        return [
            (r.boxes.xyxy.numpy().astype(np.float64), r.boxes.conf.numpy(), r.boxes.cls.numpy().astype(np.int64))
            for r in results
        ]


def _names_from(raw: str | None) -> list[str] | None:
    """ultralytics writes names into ONNX metadata as a Python dict literal: parse it without eval."""
    if not raw:
        return None
    names = ast.literal_eval(raw)
    return [str(names[i]) for i in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]


def _imgsz_from(raw: str | None) -> int:
    if not raw:
        return DEFAULT_IMGSZ
    value = ast.literal_eval(raw)
    return int(value[0] if isinstance(value, list | tuple) else value)


def _batcher_for(
    backend: DetectorBackend, *, min_confidence: float, iou: float
) -> DynamicBatcher[npt.NDArray[np.uint8], RawDetections] | None:
    """A dynamic batcher (inference/batching.py) over the backend's batched call, when it has one and
    settings.ATLAS_DETECT_MAX_BATCH > 1; the ONNX backend's exports take one image (static 1x3xSxS)."""
    from django.conf import settings

    raw_batch = getattr(backend, "raw_batch", None)
    if raw_batch is None or settings.ATLAS_DETECT_MAX_BATCH <= 1:
        return None

    def run(images: Sequence[npt.NDArray[np.uint8]]) -> list[RawDetections]:
        return list(raw_batch(images, min_confidence=min_confidence, iou=iou))

    return DynamicBatcher(  # images of one shape per batch: ultralytics pads mixed shapes to full squares
        run,
        max_batch=settings.ATLAS_DETECT_MAX_BATCH,
        window_s=settings.ATLAS_DETECT_BATCH_WINDOW_MS / 1000,
        key=lambda image: image.shape,
    )


# --- the predictor ---------------------------------------------------------------------------------------


class VisualPredictor:
    def __init__(self, backend: DetectorBackend, *, metadata: dict[str, Any], fmt: str):
        self.backend = backend
        self.format = fmt
        names = metadata.get("class_names") or backend.names
        if not names:
            raise ValueError("No class names: give metadata['class_names'] (the model file carries none).")
        self.class_names = [str(n) for n in names]
        if backend.n_classes != len(self.class_names):  # a class id past the names would fail every request
            raise ValueError(
                f"metadata['class_names'] has {len(self.class_names)} names; the model has {backend.n_classes} classes."
            )
        default = float(metadata.get("confidence", DEFAULT_CONFIDENCE))
        thresholds = metadata.get("thresholds") or {}
        unknown = sorted(set(thresholds) - set(self.class_names))
        if unknown:
            raise ValueError(f"metadata['thresholds'] names classes the model does not have: {', '.join(unknown)}")
        self.thresholds = np.array([float(thresholds.get(n, default)) for n in self.class_names])
        if not ((self.thresholds >= 0) & (self.thresholds <= 1)).all() or not 0 <= default <= 1:
            raise ValueError("Confidence thresholds must lie in 0..1.")
        self.iou = float(metadata.get("iou", DEFAULT_IOU))
        self.weapon_classes = frozenset(metadata.get("weapon_classes", WEAPON_CLASSES))
        self.vehicle_classes = frozenset(metadata.get("vehicle_classes", VEHICLE_CLASSES))
        self.crowd_size = int(metadata.get("crowd_size", DEFAULT_CROWD_SIZE))
        self.min_confidence = float(self.thresholds.min())
        self.batcher = _batcher_for(backend, min_confidence=self.min_confidence, iou=self.iou)

    def warm_up(self) -> None:
        self.detect(Image.new("RGB", (64, 48), (LETTERBOX_FILL,) * 3))

    def detect(self, image: Image.Image) -> list[dict[str, Any]]:
        """Detections in the image's own pixels, best first, each above its class's threshold."""
        pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        if self.batcher is not None:
            boxes, scores, class_ids = self.batcher.submit(pixels)
        else:
            boxes, scores, class_ids = self.backend.raw(pixels, min_confidence=self.min_confidence, iou=self.iou)
        keep = scores >= self.thresholds[class_ids]
        return [
            {
                "class": self.class_names[class_id],
                "class_id": int(class_id),
                "confidence": round(float(score), 4),
                "bbox": [round(float(v), 1) for v in box],
            }
            for box, score, class_id in zip(boxes[keep], scores[keep], class_ids[keep], strict=True)
        ]

    def threat_analysis(self, detections: list[dict[str, Any]]) -> dict[str, Any]:
        """People, weapons and vehicles in a set of detections, and a 0..1 score of how alarming it is."""
        classes = [d["class"] for d in detections]
        people = classes.count("person")
        weapons = sorted({c for c in classes if c in self.weapon_classes})
        vehicles = sum(c in self.vehicle_classes for c in classes)
        indicators = [f"weapon:{name}" for name in weapons]
        score = 0.6 if weapons else 0.0
        if weapons and people:
            indicators.append("armed_person")
            score += 0.2
        if people >= self.crowd_size:
            indicators.append("crowd")
            score += 0.1
        if weapons and vehicles:
            indicators.append("weapon_near_vehicle")
            score += 0.1
        return {
            "people_count": people,
            "weapons_detected": len([c for c in classes if c in self.weapon_classes]),
            "vehicle_count": vehicles,
            "threat_indicators": indicators,
            "threat_score": round(min(score, 1.0), 2),
        }


def load(path: Path, *, metadata: dict[str, Any]) -> VisualPredictor:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        backend: DetectorBackend = _OnnxBackend(path)
    elif suffix == ".pt":
        backend = _UltralyticsBackend(path, int(metadata.get("imgsz", DEFAULT_IMGSZ)))
    else:
        raise ValueError(f"The yolo runtime serves .pt and .onnx files, not {path.name!r}.")
    return VisualPredictor(backend, metadata=metadata, fmt=suffix.lstrip("."))


def export_onnx(pt_path: Path, onnx_path: Path, *, imgsz: int = DEFAULT_IMGSZ) -> Path:
    """Export a YOLOv8 `.pt` to ONNX at `onnx_path` (written to `.part`, then renamed); returns it.

    The export runs in a scratch folder so the `.pt`'s own folder (a read-only cache) is never written.
    Only call it on a file you trust: loading a `.pt` unpickles it.
    """
    ultralytics = import_ultralytics()
    onnx_path = Path(onnx_path)
    with tempfile.TemporaryDirectory(prefix="atlas-onnx-") as scratch:
        local_pt = Path(scratch) / "model.pt"
        shutil.copyfile(pt_path, local_pt)
        exported = ultralytics.YOLO(str(local_pt), task="detect").export(
            format="onnx", imgsz=imgsz, dynamic=False, simplify=False, device="cpu", verbose=False
        )
        onnx_path.parent.mkdir(parents=True, exist_ok=True)
        part = onnx_path.with_name(onnx_path.name + ".part")
        shutil.move(str(exported), part)
        part.replace(onnx_path)
    return onnx_path
