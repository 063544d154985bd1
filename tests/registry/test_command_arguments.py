"""The registry's commands: --version is the model's (never Django's), arguments are checked before any progress bar,
list_models MODEL lists versions, and the promotion log names versions."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from models_registry.models import RegisteredModel

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_activate_model_takes_the_version_as_an_option(register):
    register("1.0.0")

    run("activate_model", "answers", "--version", "1.0.0")

    assert RegisteredModel.objects.get(name="answers").active_version.version == "1.0.0"


def test_activate_model_refuses_two_different_versions(register):
    register("1.0.0")
    register("1.1.0")

    with pytest.raises(CommandError, match=r"Two versions given \('1.0.0' and --version '1.1.0'\); give one."):
        run("activate_model", "answers", "1.0.0", "--version", "1.1.0")


def test_activate_model_without_a_version_says_how_to_give_one(register):
    register("1.0.0")

    with pytest.raises(CommandError, match=r"Which version\? activate_model MODEL VERSION"):
        run("activate_model", "answers")


def test_rollback_model_refuses_a_version_and_names_the_command_that_takes_one(register):
    register("1.0.0")
    run("activate_model", "answers", "1.0.0")

    with pytest.raises(CommandError, match=r"takes no --version.*manage.py activate_model answers 1.0.0"):
        run("rollback_model", "answers", "--version", "1.0.0")


def test_list_models_refuses_a_version_option():
    with pytest.raises(CommandError, match="list_models takes no --version; run list_models MODEL"):
        run("list_models", "--version", "1.0.0")


def test_list_models_with_a_model_lists_its_versions_newest_first_marking_the_active_one(register):
    older = register("1.2.0")
    register("1.10.0")
    run("activate_model", "answers", "1.2.0")

    lines = run("list_models", "answers")[0].splitlines()

    assert lines[0].split() == ["VERSION", "STATUS", "ACTIVE", "STORAGE", "SIZE", "SHA256", "CREATED"]
    assert lines[1].split()[:2] == ["1.10.0", "registered"]
    assert lines[2].split()[:6] == ["1.2.0", "active", "*", "local", str(older.size_bytes), older.sha256[:12]]


def test_list_models_of_an_unknown_model_names_the_models_that_exist(register):
    register("1.0.0")

    with pytest.raises(CommandError, match="No model named 'ghost'. Registered models: answers"):
        run("list_models", "ghost")


def test_upload_with_a_malformed_metric_fails_before_the_progress_bar_starts(artifact):
    err = StringIO()
    with pytest.raises(CommandError, match="use NAME=NUMBER"):
        call_command(
            "upload_model",
            "answers",
            str(artifact(1)),
            "--version",
            "1",
            "--runtime",
            "json_answer",
            "--metric",
            "0.9",
            stdout=StringIO(),
            stderr=err,
        )

    assert err.getvalue() == ""


def test_upload_of_a_taken_version_fails_before_the_progress_bar_starts(register, artifact):
    register("1.0.0")
    err = StringIO()

    with pytest.raises(CommandError, match="answers already has a version '1.0.0'; pick another --version."):
        call_command("upload_model", "answers", str(artifact(2)), "--version", "1.0.0", stdout=StringIO(), stderr=err)

    assert err.getvalue() == ""


def test_register_of_a_missing_local_file_fails_before_the_progress_bar_starts():
    err = StringIO()

    with pytest.raises(CommandError, match="/nonexistent/model.json: no such file."):
        call_command(
            "register_model", "answers", "/nonexistent/model.json", "--version", "1", stdout=StringIO(), stderr=err
        )

    assert err.getvalue() == ""


def test_the_promotion_log_line_names_the_versions_not_database_ids(register, caplog):
    register("1.0.0")
    register("2.0.0")
    run("activate_model", "answers", "1.0.0")

    with caplog.at_level(logging.INFO, logger="models_registry.services"):
        run("activate_model", "answers", "2.0.0")

    assert "answers: 1.0.0 -> 2.0.0 (promote by cli:" in caplog.text
