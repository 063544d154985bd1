"""The registry on real remote stores: SeaweedFS for S3, the Hub-compatible server for hf."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from inference import model_cache
from models_registry import bookkeeping, services
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.storage.hf import HubStore
from models_registry.storage.s3 import S3Store
from tests.servers.gunicorn import REPO, database_url

pytestmark = [pytest.mark.servers, pytest.mark.django_db]


@pytest.mark.django_db(transaction=True)  # the writer checks, on its own connection, that the version is active
def test_upload_to_s3_then_promote_writes_metadata_json_and_the_latest_copy(s3_settings):
    version = services.model_version_register(
        model_name="answers",
        version="1.0.0",
        source=_answer_file(s3_settings, 7),
        storage="s3",
        runtime="json_answer",
        metrics={"accuracy": 0.5},
    )

    services.model_version_promote(version=version, actor="t")
    services.store_bookkeeping_wait()  # it runs after the promotion has answered

    client, bucket = S3Store().client, s3_settings.S3_BUCKET
    metadata = json.loads(client.get_object(Bucket=bucket, Key="models/answers/metadata.json")["Body"].read())
    latest = client.get_object(Bucket=bucket, Key=f"models/answers/latest/{version.filename}")["Body"].read()
    assert (metadata["version"], metadata["sha256"], metadata["accuracy"]) == ("1.0.0", version.sha256, 0.5)
    assert hashlib.sha256(latest).hexdigest() == version.sha256


def test_a_file_corrupted_in_s3_after_registration_is_refused_and_the_old_keeps_serving(s3_settings):
    good = services.model_version_register(
        model_name="answers",
        version="1.0.0",
        source=_answer_file(s3_settings, "good"),
        storage="s3",
        runtime="json_answer",
    )
    bad = services.model_version_register(
        model_name="answers", version="2.0.0", source=_answer_file(s3_settings, "bad"), storage="s3"
    )
    services.model_version_promote(version=good, actor="t")
    assert model_cache.get("answers").predictor.predict() == "good"
    S3Store().client.put_object(Bucket=s3_settings.S3_BUCKET, Key=bad.location, Body=b'{"answer": "evil"}')

    with pytest.raises(services.PromotionError) as refused:
        services.model_version_promote(version=bad, actor="t")

    assert "changed since it was registered" in str(refused.value)
    assert RegisteredModel.objects.get(name="answers").active_version_id == good.pk
    assert model_cache.get("answers").predictor.predict() == "good"


def test_register_model_from_an_s3_uri_records_sha256_and_the_etag(s3_settings, tmp_path):
    payload = b'{"answer": 11}'
    S3Store().client.put_object(Bucket=s3_settings.S3_BUCKET, Key="trained/eleven.json", Body=payload)

    call_command(
        "register_model",
        "answers",
        f"s3://{s3_settings.S3_BUCKET}/trained/eleven.json",
        "--version",
        "1.0.0",
        "--runtime",
        "json_answer",
        "--activate",
        stdout=StringIO(),
        stderr=StringIO(),
    )

    version = ModelVersion.objects.get(version="1.0.0")
    assert (version.sha256, version.size_bytes) == (hashlib.sha256(payload).hexdigest(), len(payload))
    assert version.revision == f'"{hashlib.md5(payload).hexdigest()}"'
    assert model_cache.get("answers").predictor.predict() == 11


def test_a_hub_version_stays_pinned_to_its_commit_after_the_file_changes_on_main(hf_settings, tmp_path):
    store = HubStore()
    first = tmp_path / "one.json"
    first.write_text('{"answer": "first"}')
    stored = store.put(model="answers", version="any", filename="model.json", source=first)
    call_command(
        "register_model",
        "answers",
        f"hf://{hf_settings.HF_MODEL_REPO}/{stored.location}",
        "--version",
        "1.0.0",
        "--runtime",
        "json_answer",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    second = tmp_path / "two.json"
    second.write_text('{"answer": "second"}')
    store.put(model="answers", version="any", filename="model.json", source=second)  # main moves on

    services.model_version_promote(version=ModelVersion.objects.get(version="1.0.0"), actor="t")

    assert ModelVersion.objects.get(version="1.0.0").revision == stored.revision
    assert model_cache.get("answers").predictor.predict() == "first"


def _answer_file(settings, answer):
    path = settings.MODEL_STORE_DIR.parent / f"answer-{answer}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"answer": answer}))
    return path


@pytest.mark.django_db(transaction=True)
def test_a_late_write_of_a_version_no_longer_active_leaves_metadata_json_on_the_active_one(s3_settings):
    old, new = (
        services.model_version_register(
            model_name="answers",
            version=label,
            source=_answer_file(s3_settings, label),
            storage="s3",
            runtime="json_answer",
        )
        for label in ("1.0.0", "2.0.0")
    )
    services.model_version_promote(version=old, actor="t")
    services.model_version_promote(version=new, actor="t")
    services.store_bookkeeping_wait()

    # When the bookkeeping of the earlier promotion lands last (a slow copy in another replica)
    bookkeeping.write_if_active(model_name="answers", version_id=old.pk)

    client, bucket = S3Store().client, s3_settings.S3_BUCKET
    metadata = json.loads(client.get_object(Bucket=bucket, Key="models/answers/metadata.json")["Body"].read())
    assert metadata["version"] == "2.0.0"


@pytest.mark.django_db(transaction=True)
def test_activate_model_on_s3_writes_latest_before_the_command_exits(s3_settings, seaweedfs):
    version = services.model_version_register(
        model_name="answers", version="1.0.0", source=_answer_file(s3_settings, 5), storage="s3", runtime="json_answer"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "atlas.settings",
        "SECRET_KEY": "command-test-secret",
        "DATABASE_URL": database_url(),
        "MODEL_STORAGE_TYPE": "s3",
        "S3_ENDPOINT_URL": seaweedfs.endpoint_url,
        "S3_ACCESS_KEY": seaweedfs.access_key,
        "S3_SECRET_KEY": seaweedfs.secret_key,
        "S3_REGION": seaweedfs.region,
        "S3_BUCKET": s3_settings.S3_BUCKET,
        "ATLAS_VAR_DIR": str(s3_settings.MODEL_CACHE_DIR.parent / "command-var"),
    }
    env.pop("ATLAS_RUNTIMES", None)

    done = subprocess.run(
        [sys.executable, "-c", _ACTIVATE_WITH_TEST_RUNTIME],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    latest = S3Store().client.get_object(Bucket=s3_settings.S3_BUCKET, Key=f"models/answers/latest/{version.filename}")
    assert hashlib.sha256(latest["Body"].read()).hexdigest() == version.sha256


# manage.py activate_model, with the registry tests' JSON runtime added to the settings.
_ACTIVATE_WITH_TEST_RUNTIME = """
import django
from django.conf import settings
from django.core.management import call_command
django.setup()
settings.ATLAS_RUNTIMES = {**settings.ATLAS_RUNTIMES, "json_answer": "tests.registry.json_runtime.load"}
call_command("activate_model", "answers", "1.0.0")
"""
