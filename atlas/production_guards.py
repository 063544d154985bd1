"""Refusals at start-up (called from atlas/settings.py): production never runs, unknowingly, on storage
that a redeploy erases.

A container's disk is gone after the next deploy on Railway and Heroku: a SQLite database there loses the
registry (every version, the active pointers, the audit history), and the `local` store under it loses every
model file. With ATLAS_ENV=production Atlas refuses both unless ATLAS_ALLOW_EPHEMERAL=1 says the loss is
accepted (a demo) or the folder is on a persistent volume.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


def ephemeral_storage_problems(*, database_engine: str, storage_type: str) -> list[str]:
    """What of the database and the default artifact store lives on the local disk, in words."""
    problems = []
    if database_engine == "django.db.backends.sqlite3":
        problems.append("the database is SQLite (DATABASE_URL is unset or sqlite://): set DATABASE_URL to PostgreSQL")
    if storage_type == "local":
        problems.append(
            "model files go to a local folder (MODEL_STORAGE_TYPE is unset or local): set MODEL_STORAGE_TYPE=s3 "
            "with the S3_* variables, or hf with HF_MODEL_REPO"
        )
    return problems


def refuse_ephemeral_in_production(
    *, atlas_env: str, database_engine: str, storage_type: str, allow_ephemeral: bool
) -> None:
    """Raise ImproperlyConfigured in production when the database or the store would vanish on redeploy."""
    if atlas_env != "production" or allow_ephemeral:
        return
    problems = ephemeral_storage_problems(database_engine=database_engine, storage_type=storage_type)
    if problems:
        raise ImproperlyConfigured(
            "ATLAS_ENV=production refuses to start: "
            + "; ".join(problems)
            + ". Both vanish when the container is redeployed. To run like this anyway (a demo, or a folder "
            "on a persistent volume), set ATLAS_ALLOW_EPHEMERAL=1."
        )


# Variables earlier Atlas releases read and this one does not (issue 24 cut the variables to at most 60): the
# name a deployment uses now. Set, one would be ignored in silence, and a deployment that set MODEL_STORE_DIR
# would serve from an empty folder; Atlas refuses to start instead, in every environment, naming the way.
RETIRED_VARIABLES = {
    "MODEL_STORE_DIR": "MODEL_STORAGE_PATH",
    "MODEL_CACHE_MAX_MB": "MODEL_CACHE_SIZE_MB",
    "DB_CONN_MAX_AGE": "the Django setting CONN_MAX_AGE in a settings module of your own",
    "GUNICORN_TIMEOUT": 'GUNICORN_CMD_ARGS="--timeout N"',
    "ATLAS_METRICS_AUTO_DIR": "nothing (Atlas marks the metrics folder it chose itself)",
    "ATLAS_STORE_CONNECT_SECONDS": "the Django setting of the same name",
    "ATLAS_STORE_READ_SECONDS": "the Django setting of the same name",
    "ATLAS_FETCH_DEADLINE_SECONDS": "the Django setting of the same name",
    "ATLAS_ONNX_THREADS": "the Django setting of the same name",
    "ATLAS_ADMIN_SYNC_PROMOTE_MB": "the Django setting of the same name",
    "ATLAS_JOB_LEASE_SECONDS": "the Django setting of the same name",
    "ATLAS_MAX_AUDIO_SECONDS": "the Django setting of the same name",
    "ATLAS_MAX_IMAGE_PIXELS": "the Django setting of the same name",
    "ATLAS_PREDICTION_RECORDS": "the Django setting of the same name",
    "ATLAS_SLOW_WAIT_SECONDS": "the Django setting of the same name",
}


def refuse_retired_variables(environment_names: set[str]) -> None:
    """Raise ImproperlyConfigured when a variable Atlas no longer reads is set, naming what replaced it."""
    found = sorted(RETIRED_VARIABLES.keys() & environment_names)
    if found:
        raise ImproperlyConfigured(
            "Atlas no longer reads "
            + "; ".join(f"{name} (use {RETIRED_VARIABLES[name]})" for name in found)
            + ". Unset it after moving its value (docs/OPERATIONS.md, *Tuning settings*)."
        )
