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
