"""Small real models for the Open Inference Protocol tests: a scikit-learn pipeline on the iris flowers,
saved with skops and exported to ONNX with skl2onnx (without ZipMap, so every output is a tensor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import skops.io
from skl2onnx import to_onnx
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROWS = load_iris(return_X_y=True)[0].astype(np.float32)


def iris_pipeline(*, c: float = 1.0) -> Any:
    x, y = load_iris(return_X_y=True)
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500)).fit(x, y)


def write_skops(path: Path, *, c: float = 1.0) -> Path:
    skops.io.dump(iris_pipeline(c=c), path)
    return path


def write_onnx(path: Path, *, c: float = 1.0, features: int = 4) -> Path:
    """The pipeline as an ONNX graph: input X FP32 [-1, features], outputs label and probabilities."""
    model = iris_pipeline(c=c) if features == 4 else _wider(features)
    sample = np.zeros((1, features), np.float32)
    path.write_bytes(to_onnx(model, sample, options={"zipmap": False}).SerializeToString())
    return path


def _wider(features: int) -> Any:
    x, y = load_iris(return_X_y=True)
    wide = np.hstack([x, np.zeros((len(x), features - 4))])
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(wide, y)


class Doubler(BaseEstimator, TransformerMixin):
    """A transformer of this project's own: a type skops does not trust unless told to."""

    def fit(self, x: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, x: Any) -> Any:
        return np.asarray(x) * 2


def write_skops_with_own_type(path: Path) -> Path:
    x, y = load_iris(return_X_y=True)
    skops.io.dump(make_pipeline(Doubler(), LogisticRegression(max_iter=500)).fit(x, y), path)
    return path
