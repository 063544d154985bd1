"""manage.py adopt_store on a SeaweedFS bucket laid out as the threat-intelligence service left it:
models/{stem}/{version}/{file}, models/{stem}/metadata.json and models/{stem}/latest/{file}."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inference.runtimes import threat_rules
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.storage.s3 import S3Store

pytestmark = [pytest.mark.servers, pytest.mark.django_db]

OLD = json.dumps(threat_rules.default_taxonomy()).encode()
EXTENDED = json.dumps(threat_rules.extended_taxonomy()).encode()
DETECTOR = b"not really a yolov8m checkpoint"


@pytest.fixture
def old_bucket(s3_settings):
    """The old service's layout: two taxonomy versions (latest/ holds the OLDER one), a detector whose
    metadata.json records a sha256 its bytes do not have, and a stray object."""
    client = S3Store().client
    bucket = s3_settings.S3_BUCKET

    def put(key: str, body: bytes) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=body)

    put("models/keywords/v1.0.0/threat_taxonomy.json", EXTENDED)
    put("models/keywords/v2.0.0/threat_taxonomy.json", OLD)
    put("models/keywords/latest/threat_taxonomy.json", EXTENDED)
    metadata = {
        "model_name": "keywords",
        "version": "v2.0.0",
        "uploaded_at": "2025-10-07T20:00:00Z",
        "sha256": hashlib.sha256(OLD).hexdigest(),
        "accuracy": 0.87,
        "file_size_mb": 0.01,
    }
    put("models/keywords/metadata.json", json.dumps(metadata).encode())
    put("models/yolov8m/v9.0.0/yolov8m.pt", DETECTOR)
    put("models/yolov8m/metadata.json", json.dumps({"version": "v9.0.0", "sha256": "0" * 64}).encode())
    put("models/README.txt", b"hello")
    return bucket


def adopt(bucket: str, *extra: str) -> str:
    out = StringIO()
    call_command("adopt_store", f"s3://{bucket}", "--map", "keywords=threat_classifier", *extra, stdout=out)
    return out.getvalue()


def test_every_version_is_registered_pinned_with_its_metadata(old_bucket):
    adopt(old_bucket)

    versions = {v.version: v for v in ModelVersion.objects.filter(model__name="threat_classifier")}
    assert set(versions) == {"v1.0.0", "v2.0.0"}
    newest = versions["v2.0.0"]
    assert (newest.storage, newest.bucket, newest.location) == (
        "s3",
        old_bucket,
        "models/keywords/v2.0.0/threat_taxonomy.json",
    )
    assert newest.sha256 == hashlib.sha256(OLD).hexdigest()
    assert newest.revision.startswith('"')  # the bucket is not versioned: pinned to the ETag
    assert newest.metrics == {"accuracy": 0.87}
    assert newest.metadata["uploaded_at"] == "2025-10-07T20:00:00Z"
    assert versions["v1.0.0"].metrics == {}


def test_the_version_whose_bytes_equal_latest_becomes_active(old_bucket):
    output = adopt(old_bucket)

    model = RegisteredModel.objects.get(name="threat_classifier")
    assert model.active_version.version == "v1.0.0"
    assert "activated threat_classifier v1.0.0 (its bytes equal models/keywords/latest/threat_taxonomy.json)" in output


def test_a_version_whose_bytes_differ_from_the_recorded_sha256_is_skipped_with_the_reason(old_bucket):
    output = adopt(old_bucket)

    assert not ModelVersion.objects.filter(model__name="visual_detector").exists()
    assert (
        f"skipped s3://{old_bucket}/models/yolov8m/v9.0.0/yolov8m.pt: models/yolov8m/v9.0.0/yolov8m.pt hashes to "
        f"{hashlib.sha256(DETECTOR).hexdigest()}, not the recorded sha256 {'0' * 64}." in output
    )
    assert "skipped models/README.txt: not models/{model}/{version}/{file}" in output


def test_the_old_stem_maps_through_the_aliases(old_bucket, s3_settings):
    client = S3Store().client
    client.put_object(Bucket=old_bucket, Key="models/yolov8m/metadata.json", Body=b"{}")

    adopt(old_bucket)

    assert list(ModelVersion.objects.filter(model__name="visual_detector").values_list("version", flat=True)) == [
        "v9.0.0"
    ]


def test_a_second_run_registers_nothing_and_says_so(old_bucket):
    adopt(old_bucket)

    output = adopt(old_bucket)

    assert ModelVersion.objects.count() == 2
    assert "0 registered, 0 activated" in output
    assert f"skipped s3://{old_bucket}/models/keywords/v2.0.0/threat_taxonomy.json: already registered" in output
    assert "skipped threat_classifier v1.0.0: already active" in output


def test_a_uri_with_a_key_is_refused():
    with pytest.raises(CommandError, match="is not s3://bucket"):
        call_command("adopt_store", "s3://bucket/models/x.pt")


def test_in_a_versioned_bucket_a_version_is_pinned_to_its_version_id(s3_settings):
    s3_settings.S3_BUCKET = f"{s3_settings.S3_BUCKET}-v"
    store = S3Store()
    store.ensure_bucket(versioned=True)
    put = store.client.put_object(Bucket=store.bucket, Key="models/keywords/1.0.0/taxonomy.json", Body=OLD)

    adopt(store.bucket)

    version = ModelVersion.objects.get(model__name="threat_classifier")
    assert version.revision == put["VersionId"]
