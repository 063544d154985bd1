"""A fresh deployment of the old MNIST service: HF_MODEL_REPO with `{name}.npz` + `{name}.json`, and
DEFAULT_MODEL; the registry adopts them once, then decides on its own."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from huggingface_hub import CommitOperationAdd
from rest_framework.test import APIClient

from models_registry import services
from models_registry.compat import bootstrap
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.storage.hf import HubStore
from tests.hippo.test_live_mnist import hippo_network_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def hippo_repo(hf_settings, tmp_path):
    """The old service's Hub repo: two networks with their .json, a text file; returns its commit sha."""
    api = HubStore().api
    repo = hf_settings.HF_MODEL_REPO
    api.create_repo(repo, repo_type="model", private=True, exist_ok=True)
    operations = [CommitOperationAdd(path_in_repo="notes.txt", path_or_fileobj=b"models\n")]
    for name, sizes, accuracy in [("mnist-100", [784, 100, 10], 96.18), ("mnist-64-64", [784, 64, 64, 10], 95.5)]:
        path = hippo_network_file(tmp_path / f"{name}.npz", sizes)
        sidecar = {
            "training_config": {"sizes": sizes, "activation": "sigmoid", "epochs": 30},
            "final_accuracy": accuracy,
        }
        operations += [
            CommitOperationAdd(path_in_repo=f"{name}.npz", path_or_fileobj=str(path)),
            CommitOperationAdd(path_in_repo=f"{name}.json", path_or_fileobj=json.dumps(sidecar).encode()),
        ]
    commit = api.create_commit(repo, operations=operations, commit_message="models", repo_type="model")
    hf_settings.DEFAULT_MODEL = "mnist-64-64"
    return commit.oid


def test_an_empty_registry_adopts_every_network_pinned_with_its_json_and_activates_default_model(hippo_repo):
    outcome = bootstrap.adopt_hub_models()

    assert outcome["outcome"] == "adopted"
    versions = {v.version: v for v in ModelVersion.objects.filter(model__name="digit_classifier")}
    assert sorted(versions) == ["mnist-100", "mnist-64-64"]
    assert {v.revision for v in versions.values()} == {hippo_repo}
    assert versions["mnist-100"].metrics == {"accuracy": 0.9618, "final_accuracy_percent": 96.18}
    assert versions["mnist-64-64"].metadata["layer_sizes"] == [784, 64, 64, 10]
    assert versions["mnist-64-64"].metadata["training"]["epochs"] == 30
    assert RegisteredModel.objects.get(name="digit_classifier").active_version.version == "mnist-64-64"


def test_a_later_default_model_change_does_not_override_a_promotion_and_says_why(hippo_repo, settings):
    bootstrap.adopt_hub_models()
    services.model_version_promote(version=ModelVersion.objects.get(version="mnist-100"), actor="admin")
    settings.DEFAULT_MODEL = "mnist-64-64"

    outcome = bootstrap.adopt_hub_models()

    assert outcome["outcome"] == "active_wins"
    assert "DEFAULT_MODEL=mnist-64-64 is not applied: digit_classifier@mnist-100 stays active" in outcome["detail"]
    assert RegisteredModel.objects.get(name="digit_classifier").active_version.version == "mnist-100"
    assert ModelVersion.objects.count() == 2


def test_healthz_default_model_says_what_is_true_after_a_later_promotion(
    hippo_repo, django_capture_on_commit_callbacks
):
    # Given the start's adoption (DEFAULT_MODEL=mnist-64-64 active), then a promotion in the admin
    bootstrap.adopt_hub_models()
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_promote(version=ModelVersion.objects.get(version="mnist-100"), actor="admin")

    health = APIClient().get("/healthz").json()

    # Then health tells the registry as it is now, not the start's "DEFAULT_MODEL=mnist-64-64 is active"
    assert health["default_model"] == {
        "outcome": "active_wins",
        "active": "mnist-100",
        "default_model": "mnist-64-64",
        "detail": "DEFAULT_MODEL=mnist-64-64 is not applied: digit_classifier@mnist-100 stays active because the "
        "registry decides once it has versions (a promotion made in the admin is never overridden at start); "
        "promote mnist-64-64 in the admin to serve it.",
    }


def test_adopt_hf_command_does_the_same(hippo_repo):
    out = StringIO()
    call_command("adopt_hf", stdout=out)

    assert "DEFAULT_MODEL=mnist-64-64 is active" in out.getvalue()


def test_without_hf_model_repo_nothing_is_adopted(settings):
    settings.HF_MODEL_REPO = ""

    assert bootstrap.adopt_hub_models()["outcome"] == "not_configured"
    assert not ModelVersion.objects.exists()


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="gunicorn shares the test database: PostgreSQL")
def test_a_fresh_server_adopts_the_repo_at_start_and_serves_default_model(hippo_repo, hf_settings, start_replica):
    server = start_replica(
        workers=1,
        env={
            "HF_MODEL_REPO": hf_settings.HF_MODEL_REPO,
            "HF_ENDPOINT": hf_settings.HF_ENDPOINT,
            "HUGGINGFACE_TOKEN": hf_settings.HUGGINGFACE_TOKEN,
            "DEFAULT_MODEL": "mnist-64-64",
        },
    )

    health = requests.get(f"{server.url}/healthz", timeout=30).json()
    answer = requests.post(f"{server.url}/v1/activations", json={"pixels": [0.2] * 784}, timeout=30)

    assert health["default_model"]["outcome"] == "adopted"
    assert answer.status_code == 200 and answer.json()["layer_sizes"] == [784, 64, 64, 10]
    assert answer.json()["version"] == "mnist-64-64"
