"""Two registrations of the same model and version never overwrite each other's bytes (issue 9, case 8)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from models_registry import services
from models_registry.models import ModelVersion
from models_registry.registration_lock import registration_lock

pytestmark = pytest.mark.django_db


def test_a_registration_while_another_of_the_same_version_runs_fails_clearly_and_stores_nothing(artifact, settings):
    holding, release = threading.Event(), threading.Event()

    def other_upload() -> None:  # another process's registration, in the middle of its upload
        try:
            with registration_lock(model_name="answers", version="1.0.0"):
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    other = threading.Thread(target=other_upload)
    other.start()
    try:
        assert holding.wait(10)
        with pytest.raises(services.RegistryError, match="being registered by another upload right now"):
            services.model_version_register(
                model_name="answers", version="1.0.0", source=artifact(1), runtime="json_answer", actor="t"
            )
    finally:
        release.set()
        other.join(10)

    assert not ModelVersion.objects.filter(version="1.0.0").exists()
    assert not (settings.MODEL_STORE_DIR / "models" / "answers" / "1.0.0").exists()


def test_the_local_store_leaves_no_part_file_behind(register, settings):
    register("1.0.0")

    assert list(settings.MODEL_STORE_DIR.rglob("*.part")) == []
