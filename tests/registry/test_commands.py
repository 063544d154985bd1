"""The registry's management commands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from models_registry.models import ActivationEvent, RegisteredModel

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_upload_activate_upload_activate_rollback_leaves_the_first_active_with_three_history_rows(
    artifact,
):
    run(
        "upload_model",
        "answers",
        str(artifact(1)),
        "--version",
        "1.0.0",
        "--runtime",
        "json_answer",
    )
    run("activate_model", "answers", "1.0.0")
    run("upload_model", "answers", str(artifact(2)), "--version", "1.1.0")
    run("activate_model", "answers", "1.1.0")

    run("rollback_model", "answers")

    model = RegisteredModel.objects.get(name="answers")
    assert model.active_version.version == "1.0.0"
    assert list(ActivationEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "promote",
        "promote",
        "rollback",
    ]


def test_upload_with_activate_records_metrics_and_metadata(artifact, tmp_path):
    metadata = tmp_path / "meta.json"
    metadata.write_text(json.dumps({"class_names": ["a", "b"]}))

    out = run(
        "upload_model",
        "answers",
        str(artifact(7)),
        "--version",
        "2.0.0",
        "--runtime",
        "json_answer",
        "--metric",
        "accuracy=0.92",
        "--metadata",
        str(metadata),
        "--activate",
    )

    model = RegisteredModel.objects.get(name="answers")
    assert (model.active_version.metrics, model.active_version.metadata) == (
        {"accuracy": 0.92},
        {"class_names": ["a", "b"]},
    )
    assert "answers@2.0.0 is now active" in out


def test_upload_of_a_missing_file_is_a_command_error():
    with pytest.raises(CommandError, match="nope.npz: no such file"):
        run("upload_model", "answers", "nope.npz", "--version", "1")


def test_activate_of_an_unknown_version_names_the_versions_that_exist(register):
    register("1.0.0")

    with pytest.raises(CommandError, match="has no version '9.9.9'. Its versions: 1.0.0"):
        run("activate_model", "answers", "9.9.9")


def test_rollback_of_an_unknown_model_names_the_models_that_exist(register):
    register("1.0.0")

    with pytest.raises(CommandError, match="No model named 'ghost'. Registered models: answers"):
        run("rollback_model", "ghost")


def test_list_models_prints_a_row_per_model(register):
    version = register("1.0.0")
    run("activate_model", "answers", "1.0.0")

    lines = run("list_models").splitlines()

    assert lines[0].split() == ["MODEL", "RUNTIME", "ACTIVE", "VERSIONS", "SHA256"]
    assert lines[1].split() == [
        "answers",
        "json_answer",
        "1.0.0",
        "1",
        version.sha256[:12],
    ]
