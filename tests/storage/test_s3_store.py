"""S3Store against a real SeaweedFS with SigV4 authentication: what the store contract (test_store_contract.py)
does not express -- multipart, versioned buckets, the ETag refusal's message, `latest/`, credentials."""

from __future__ import annotations

import hashlib
import json

import pytest

from models_registry.storage import ArtifactNotFound, StorageError
from models_registry.storage.s3 import MULTIPART_THRESHOLD, S3Store

from .conftest import sha256

pytestmark = pytest.mark.servers


def test_a_file_above_the_threshold_goes_up_in_parts_with_progress_summing_to_its_size(s3_settings, make_file):
    # Given a file just above the multipart threshold
    size = MULTIPART_THRESHOLD + 1024 * 1024
    source = make_file("big.onnx", size=size)
    seen: list[int] = []

    # When it is uploaded with a progress callback
    stored = S3Store().put(
        model="visual_detector", version="v2", filename="big.onnx", source=source, progress=seen.append
    )

    # Then progress adds up to the size and the ETag is a two-part multipart ETag
    assert sum(seen) == size
    assert stored.revision.endswith('-2"')


def test_a_multipart_object_is_fetched_back_intact(s3_settings, make_file, tmp_path):
    # Given a file uploaded in parts
    source = make_file("big.onnx", size=MULTIPART_THRESHOLD + 1024 * 1024)
    store = S3Store()
    stored = store.put(model="visual_detector", version="v2", filename="big.onnx", source=source)

    # When it is fetched (ranged GETs past the threshold), then the bytes are the same
    store.fetch(stored, tmp_path / "big.onnx")
    assert sha256(tmp_path / "big.onnx") == sha256(source)


def test_a_versioned_bucket_pins_the_version_id_so_an_overwrite_does_not_change_a_registered_artifact(
    s3_settings, make_file, tmp_path
):
    # Given a versioned bucket and a key uploaded twice with different bytes
    store = S3Store()
    store.ensure_bucket(versioned=True)
    first = make_file("first.npz", content=b"first bytes")
    second = make_file("second.npz", content=b"second bytes")
    stored_first = store.put(model="m", version="v1", filename="model.npz", source=first)
    stored_second = store.put(model="m", version="v1", filename="model.npz", source=second)

    # When the first artifact is fetched
    dest = tmp_path / "out"
    store.fetch(stored_first, dest)

    # Then it has the first bytes, pinned by a VersionId (not an ETag)
    assert dest.read_bytes() == b"first bytes"
    assert not stored_first.revision.startswith('"')
    assert stored_first.revision != stored_second.revision


def test_an_overwritten_object_in_an_unversioned_bucket_is_refused_by_etag(s3_settings, make_file, tmp_path):
    # Given an artifact whose key was overwritten with other bytes after it was recorded
    store = S3Store()
    stored = store.put(model="m", version="v1", filename="model.npz", source=make_file("a", content=b"old"))
    store.put(model="m", version="v1", filename="model.npz", source=make_file("b", content=b"new"))

    # When it is fetched, then the store refuses and says why
    with pytest.raises(StorageError) as caught:
        store.fetch(stored, tmp_path / "out")
    new_etag = f'"{hashlib.md5(b"new").hexdigest()}"'
    assert str(caught.value) == (
        f"s3://{s3_settings.S3_BUCKET}/models/m/v1/model.npz changed since it was registered: "
        f"its ETag is {new_etag}, the registry recorded {stored.revision}. The bucket is not versioned, "
        "so the registered bytes are gone; register the object again as a new version."
    )
    assert not (tmp_path / "out").exists()


def test_write_model_metadata_writes_metadata_json_and_the_latest_copy(s3_settings, seaweedfs_server, make_file):
    # Given an uploaded artifact
    source = make_file("model.pt", size=2048)
    store = S3Store()
    stored = store.put(model="visual_detector", version="v3.1.0", filename="model.pt", source=source)
    metadata = {
        "version": "v3.1.0",
        "uploaded_at": "2026-01-02T03:04:05+00:00",
        "accuracy": 0.913,
        "file_size_mb": 0.002,
        "sha256": sha256(source),
    }

    # When the model's metadata is written with it as latest
    store.write_model_metadata(model="visual_detector", metadata=metadata, latest=stored)

    # Then metadata.json holds exactly that JSON and latest/ holds the artifact's bytes
    client = seaweedfs_server.client()
    bucket = s3_settings.S3_BUCKET
    written = client.get_object(Bucket=bucket, Key="models/visual_detector/metadata.json")
    assert json.loads(written["Body"].read()) == metadata
    assert written["ContentType"] == "application/json"
    latest = client.get_object(Bucket=bucket, Key="models/visual_detector/latest/model.pt")["Body"].read()
    assert latest == source.read_bytes()


def test_a_wrong_secret_key_is_refused_with_a_message_about_credentials(s3_settings):
    # Given the right access key with a wrong secret
    s3_settings.S3_SECRET_KEY = "not-the-secret"

    # When the store is checked
    with pytest.raises(StorageError) as caught:
        S3Store().check()

    # Then the error names the credentials
    assert str(caught.value) == (
        f"S3 at {s3_settings.S3_ENDPOINT_URL} refused access to bucket '{s3_settings.S3_BUCKET}' "
        "(HTTP 403): the credentials are wrong or may not access it; check S3_ACCESS_KEY and S3_SECRET_KEY "
        "and the key's permissions."
    )
    assert not isinstance(caught.value, ArtifactNotFound)


def test_an_unknown_access_key_is_refused_on_upload_with_a_message_about_credentials(s3_settings, make_file):
    # Given an access key the server does not know
    s3_settings.S3_ACCESS_KEY = "AKNOBODY"

    # When a file is uploaded
    with pytest.raises(StorageError) as caught:
        S3Store().put(model="m", version="v1", filename="f.bin", source=make_file("f.bin"))

    # Then the error says the access key is unknown
    assert str(caught.value) == (
        f"S3 at {s3_settings.S3_ENDPOINT_URL} does not know the access key 'AKNOBODY': "
        "the credentials are wrong; check S3_ACCESS_KEY and S3_SECRET_KEY."
    )


def test_a_missing_bucket_is_named_by_check(s3_settings):
    # Given a bucket that does not exist
    s3_settings.S3_BUCKET = "atlas-no-such-bucket"

    # When the store is checked, then the error says so
    with pytest.raises(StorageError) as caught:
        S3Store().check()
    assert str(caught.value) == (
        f"The bucket 'atlas-no-such-bucket' does not exist at {s3_settings.S3_ENDPOINT_URL}: "
        "create it or fix S3_BUCKET."
    )


def test_an_unset_bucket_is_a_clear_error(settings):
    # Given no bucket configured
    settings.S3_BUCKET = ""

    # When the store is checked, then the setting is named
    with pytest.raises(StorageError) as caught:
        S3Store().check()
    assert str(caught.value) == "S3_BUCKET is not set: name the bucket that holds the models."
