"""With ATLAS_ENV=production Atlas refuses to start on storage a redeploy erases (a SQLite file, the local
store) unless ATLAS_ALLOW_EPHEMERAL=1: each case is a real `manage.py check` in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/atlas_guard_never_connected"


@pytest.fixture
def check(tmp_path):
    """check(**env) runs `manage.py check` with production settings plus env; returns the finished process."""

    def run(**env: str) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MODEL_STORAGE_TYPE", "DEBUG"}}
        base.pop("ATLAS_ALLOW_EPHEMERAL", None)
        base |= {"ATLAS_ENV": "production", "SECRET_KEY": "guard-test", "ATLAS_VAR_DIR": str(tmp_path / "var")}
        base["DJANGO_SETTINGS_MODULE"] = "atlas.settings"
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=REPO,
            env=base | env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def test_production_on_sqlite_is_refused_naming_database_url_and_the_way_out(check):
    result = check(MODEL_STORAGE_TYPE="s3")

    assert result.returncode == 1
    assert (
        "ImproperlyConfigured: ATLAS_ENV=production refuses to start: the database is SQLite (DATABASE_URL is "
        "unset or sqlite://): set DATABASE_URL to PostgreSQL. Both vanish when the container is redeployed. To "
        "run like this anyway (a demo, or a folder on a persistent volume), set ATLAS_ALLOW_EPHEMERAL=1."
    ) in result.stderr


def test_production_on_the_local_store_is_refused_naming_model_storage_type(check):
    result = check(DATABASE_URL=POSTGRES_URL)

    assert result.returncode == 1
    assert (
        "ImproperlyConfigured: ATLAS_ENV=production refuses to start: model files go to a local folder "
        "(MODEL_STORAGE_TYPE is unset or local): set MODEL_STORAGE_TYPE=s3 with the S3_* variables, or hf with "
        "HF_MODEL_REPO. Both vanish"
    ) in result.stderr


def test_production_on_sqlite_and_the_local_store_names_both(check, tmp_path):
    result = check(DATABASE_URL=f"sqlite:///{tmp_path / 'atlas.sqlite3'}", MODEL_STORAGE_TYPE="local")

    assert result.returncode == 1
    assert "the database is SQLite" in result.stderr
    assert "model files go to a local folder" in result.stderr


def test_allow_ephemeral_lets_production_start_on_sqlite_and_the_local_store(check):
    result = check(ATLAS_ALLOW_EPHEMERAL="1")

    assert (result.returncode, result.stdout.strip()) == (0, "System check identified no issues (0 silenced).")


def test_production_on_postgresql_and_s3_starts(check):
    result = check(DATABASE_URL=POSTGRES_URL, MODEL_STORAGE_TYPE="s3")

    assert (result.returncode, result.stdout.strip()) == (0, "System check identified no issues (0 silenced).")


def test_development_on_sqlite_and_the_local_store_starts(check):
    result = check(ATLAS_ENV="development")

    assert (result.returncode, result.stdout.strip()) == (0, "System check identified no issues (0 silenced).")


def test_a_retired_variable_refuses_the_start_naming_its_replacement_in_every_environment(check, tmp_path):
    result = check(ATLAS_ENV="development", MODEL_STORE_DIR=str(tmp_path / "store"), GUNICORN_TIMEOUT="30")

    assert result.returncode == 1
    assert (
        'ImproperlyConfigured: Atlas no longer reads GUNICORN_TIMEOUT (use GUNICORN_CMD_ARGS="--timeout N"); '
        "MODEL_STORE_DIR (use MODEL_STORAGE_PATH). Unset it after moving its value (docs/OPERATIONS.md, *Tuning "
        "settings*)."
    ) in result.stderr
