"""The old service's `{name}.json` beside `{name}.npz` becomes the version's metrics and metadata."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from models_registry.models import ModelVersion
from tests.hippo.test_live_mnist import hippo_network_file

pytestmark = pytest.mark.django_db

SIDECAR = {"training_config": {"sizes": [784, 30, 10], "activation": "sigmoid", "epochs": 3}, "final_accuracy": 91.5}


@pytest.fixture
def network_with_json(tmp_path):
    path = hippo_network_file(tmp_path / "small.npz", [784, 30, 10])
    path.with_suffix(".json").write_text(json.dumps(SIDECAR))
    return path


def upload(path, *extra):
    args = ["upload_model", "digit_classifier", str(path), "--version", "1.0", "--runtime", "numpy_mlp", *extra]
    call_command(*args, stdout=StringIO(), stderr=StringIO())
    return ModelVersion.objects.get(version="1.0")


def test_upload_model_reads_the_json_beside_the_npz(network_with_json):
    version = upload(network_with_json)

    assert version.metrics == {"accuracy": 0.915, "final_accuracy_percent": 91.5}
    assert version.metadata["training"] == SIDECAR["training_config"]
    assert (version.metadata["layer_sizes"], version.metadata["activation"]) == ([784, 30, 10], "sigmoid")


def test_an_explicit_metric_wins_over_the_json(network_with_json):
    version = upload(network_with_json, "--metric", "accuracy=0.5")

    assert version.metrics == {"accuracy": 0.5, "final_accuracy_percent": 91.5}


def test_register_model_reads_the_json_beside_a_local_npz(network_with_json):
    call_command(
        "register_model",
        "digit_classifier",
        str(network_with_json),
        "--version",
        "1.0",
        "--runtime",
        "numpy_mlp",
        stdout=StringIO(),
        stderr=StringIO(),
    )

    assert ModelVersion.objects.get(version="1.0").metrics["accuracy"] == 0.915


def test_a_json_that_is_not_an_object_is_a_command_error(network_with_json):
    network_with_json.with_suffix(".json").write_text("[1, 2]")

    with pytest.raises(CommandError, match="must be a JSON object"):
        upload(network_with_json)
    assert not ModelVersion.objects.exists()
