"""The typed surface of each runtime's predictor, as the views and services call it.

Every predictor satisfies models_registry.runtimes.Predictor (`warm_up`); these Protocols add what each
runtime serves, so code holding a loaded model can say which kind it needs without importing the class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from PIL import Image

from models_registry.runtimes import Predictor
from models_registry.signatures import Signature

FloatArray = npt.NDArray[np.floating[Any]]


class DigitClassifier(Predictor, Protocol):
    """numpy_mlp: an MNIST MLP."""

    @property
    def input_size(self) -> int: ...

    @property
    def sizes(self) -> list[int]: ...

    def predict(self, x: FloatArray) -> FloatArray: ...

    def predict_batch(self, x: FloatArray) -> FloatArray: ...

    def activations(self, x: FloatArray) -> list[FloatArray]: ...


class Detector(Predictor, Protocol):
    """yolo: boxes on an image, and the threat reading of those boxes."""

    def detect(self, image: Image.Image) -> list[dict[str, Any]]: ...

    def threat_analysis(self, detections: list[dict[str, Any]]) -> dict[str, Any]: ...


class AudioClassifier(Predictor, Protocol):
    """audio_mlp: a clip's class and its threat entry."""

    def classify(self, samples: FloatArray, sample_rate: int, *, top_k: int = ...) -> dict[str, Any]: ...


@runtime_checkable
class TensorModel(Predictor, Protocol):
    """onnx, sklearn, numpy_mlp: named arrays in, named arrays out (the Open Inference Protocol's face).
    `signature` is what the artifact says or implies; a version's recorded signature takes precedence."""

    @property
    def signature(self) -> Signature: ...

    def infer(self, inputs: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]: ...


class ThreatRules(Predictor, Protocol):
    """threat_rules: text, visual or audio observations -> category, severity."""

    @property
    def levels(self) -> list[str]: ...

    @property
    def no_threat(self) -> str: ...

    @property
    def categories(self) -> Mapping[str, Category]: ...

    def classify(self, *, kind: str, data: Any) -> dict[str, Any]: ...

    def classify_visual(self, data: object) -> dict[str, Any]: ...

    def classify_audio(self, data: object) -> dict[str, Any]: ...

    def severity(self, category: str, confidence: float) -> str: ...


if TYPE_CHECKING:  # mypy checks that each implementation satisfies its Protocol
    from .audio_mlp import AudioPredictor
    from .numpy_mlp import DigitPredictor
    from .onnx import OnnxPredictor
    from .sklearn import SklearnPredictor
    from .threat_rules import Category, ThreatClassifier
    from .yolo import VisualPredictor

    def _digit(p: DigitPredictor) -> DigitClassifier:
        return p

    def _detector(p: VisualPredictor) -> Detector:
        return p

    def _audio(p: AudioPredictor) -> AudioClassifier:
        return p

    def _threat(p: ThreatClassifier) -> ThreatRules:
        return p

    def _digit_tensors(p: DigitPredictor) -> TensorModel:
        return p

    def _onnx(p: OnnxPredictor) -> TensorModel:
        return p

    def _sklearn(p: SklearnPredictor) -> TensorModel:
        return p
