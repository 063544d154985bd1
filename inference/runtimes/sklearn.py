"""Runtime `sklearn`: scikit-learn estimators and pipelines, stored with skops (its safe loader).

A `.skops` file is read with `skops.io.load(path, trusted=...)`, which builds only the types scikit-learn and
skops trust and those listed in the version's metadata under `skops_trusted` (at registration: a file holding
any other type is refused, naming it). A pickled estimator (`.pkl`, `.pickle`, `.joblib`) runs code when
loaded: its formats are in ATLAS_CODE_EXECUTING_FORMATS, so it loads only once trusted or signed
(models_registry/trust.py), is never opened at registration, and needs a declared signature.

The model takes one input tensor (the rows, batched along the first dimension) and gives outputs named by the
estimator's methods, as Seldon's MLServer names them: `predict`, `predict_proba`, `decision_function`,
`predict_log_proba`, `transform`. Without a declared signature it is derived from the estimator: input
`input-0` FP64 [-1, n_features_in_], outputs `predict` (and `predict_proba` for a classifier that has it).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import skops.io

from models_registry.signatures import Signature, Tensor

from .tensors import TensorInputError, datatype_of, zeros_for

METHODS = ("predict", "predict_proba", "decision_function", "predict_log_proba", "transform")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
TRUSTED_KEY = "skops_trusted"


def _trusted(metadata: dict[str, Any]) -> list[str]:
    listed = metadata.get(TRUSTED_KEY, [])
    if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
        raise ValueError(f'metadata "{TRUSTED_KEY}" must be a list of type names (module.Type).')
    return listed


def _read_skops(path: Path, metadata: dict[str, Any]) -> Any:
    trusted = _trusted(metadata)
    try:
        untrusted = [t for t in skops.io.get_untrusted_types(file=path) if t not in trusted]
    except Exception as exc:  # not a skops archive: skops' own errors
        raise ValueError(f"{Path(path).name} is not a skops file: {exc}") from exc
    if untrusted:
        raise ValueError(
            f"the file holds types skops does not trust: {', '.join(untrusted)}; list those you trust in the "
            f'version\'s metadata as "{TRUSTED_KEY}".'
        )
    return skops.io.load(path, trusted=trusted)


class SklearnPredictor:
    """A loaded estimator: `infer({name: rows}, outputs)` calls the methods the outputs are named after."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self._signature = derived_signature(estimator)

    @property
    def signature(self) -> Signature:
        return self._signature

    def infer(self, inputs: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]:
        (rows,) = inputs.values()
        try:
            return {name: np.asarray(getattr(self.estimator, name)(rows)) for name in outputs}
        except ValueError as exc:  # scikit-learn's input validation: NaN, a width it was not fitted on
            raise TensorInputError(str(exc)) from exc

    def warm_up(self) -> None:
        """One pass on a row of zeros; skipped when the estimator does not say how many features it takes
        (a pipeline whose first step is a transformer of its own)."""
        rows = self._signature["inputs"][0]
        if rows["shape"][-1] != -1:
            self.infer({"input": zeros_for(rows)}, [t["name"] for t in self._signature["outputs"]])


def derived_signature(estimator: Any) -> Signature:
    features = int(getattr(estimator, "n_features_in_", -1))
    outputs: list[Tensor] = []
    classes = getattr(estimator, "classes_", None)
    if hasattr(estimator, "predict"):
        datatype = datatype_of(np.asarray(classes).dtype) if classes is not None else "FP64"
        outputs.append({"name": "predict", "datatype": datatype, "shape": [-1]})
    if classes is not None and hasattr(estimator, "predict_proba"):
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(classes)]})
    if not outputs and hasattr(estimator, "transform"):
        outputs.append({"name": "transform", "datatype": "FP64", "shape": [-1, -1]})
    if not outputs:
        raise ValueError(f"{type(estimator).__name__} has none of the methods {', '.join(METHODS)}.")
    return {"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, features]}], "outputs": outputs}


def _check_declared(declared: Signature, estimator: Any | None) -> None:
    if len(declared["inputs"]) != 1 or len(declared["inputs"][0]["shape"]) != 2:
        raise ValueError("a scikit-learn model takes one input tensor of rows: [-1, features].")
    for output in declared["outputs"]:
        if output["name"] not in METHODS:
            raise ValueError(f"output {output['name']} is not one of the estimator methods {', '.join(METHODS)}.")
        if estimator is not None and not hasattr(estimator, output["name"]):
            raise ValueError(f"output {output['name']}: {type(estimator).__name__} has no such method.")
    features = getattr(estimator, "n_features_in_", None)
    width = declared["inputs"][0]["shape"][1]
    if features is not None and width not in (-1, features):
        raise ValueError(f"input {declared['inputs'][0]['name']} has {width} columns; the estimator takes {features}.")


def signature(path: Path, *, metadata: dict[str, Any], declared: Signature | None) -> Signature:
    """A skops file's signature (derived, or the declared one checked against the estimator); a pickle is
    not opened before it is trusted, so its signature must be declared."""
    if not zipfile.is_zipfile(path):
        if declared is None:
            raise ValueError(
                "a pickled estimator is not opened before it is trusted: declare its signature, or save it "
                "with skops (skops.io.dump)."
            )
        _check_declared(declared, None)
        return declared
    estimator = _read_skops(path, metadata)
    if declared is None:
        return derived_signature(estimator)
    _check_declared(declared, estimator)
    return declared


def load(path: Path, *, metadata: dict[str, Any]) -> SklearnPredictor:
    """The runtime loader (settings.ATLAS_RUNTIMES["sklearn"]). The artifact cache names the file by its
    format, which the trust gate has checked: only a pickle format reaches joblib."""
    path = Path(path)
    if path.suffix in PICKLE_SUFFIXES:
        return SklearnPredictor(joblib.load(path))
    return SklearnPredictor(_read_skops(path, metadata))
