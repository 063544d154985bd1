"""Artifact URIs -> StoredArtifact, and pinning unpinned remote artifacts."""

from __future__ import annotations

import hashlib

import pytest

from models_registry.storage import ArtifactNotFound, StoredArtifact
from models_registry.storage.hf import HubStore
from models_registry.storage.s3 import S3Store
from models_registry.storage.uris import is_external_path, parse_artifact_uri, pin_revision

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "s3://atlas-models/models/digit_classifier/v1/model.npz",
            StoredArtifact(storage="s3", location="models/digit_classifier/v1/model.npz", bucket="atlas-models"),
        ),
        (
            "hf://acme/models/digit_classifier/v1/model.npz",
            StoredArtifact(storage="hf", location="digit_classifier/v1/model.npz", bucket="acme/models"),
        ),
        (
            f"hf://acme/models/digit_classifier/v1/model.npz@{SHA}",
            StoredArtifact(storage="hf", location="digit_classifier/v1/model.npz", bucket="acme/models", revision=SHA),
        ),
        (
            "hf://acme/models/model.npz@v1.2",
            StoredArtifact(storage="hf", location="model.npz", bucket="acme/models", revision="v1.2"),
        ),
        (
            f"hf://acme/models@{SHA}/digit_classifier/model.npz",
            StoredArtifact(storage="hf", location="digit_classifier/model.npz", bucket="acme/models", revision=SHA),
        ),
    ],
)
def test_remote_uris_parse_to_stored_artifacts(uri, expected):
    assert parse_artifact_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "The artifact URI is empty: give s3://bucket/key, hf://org/repo/path[@revision] or a path."),
        ("s3://", "'s3://': no bucket; expected s3://bucket/key."),
        ("s3://atlas-models", "'s3://atlas-models': no object key; expected s3://atlas-models/path/to/file."),
        (
            "s3://atlas-models/dir/",
            "'s3://atlas-models/dir/': no object key; expected s3://atlas-models/path/to/file.",
        ),
        (
            "s3://Atlas_Models/key",
            (
                "'s3://Atlas_Models/key': 'Atlas_Models' is not a valid bucket name "
                "(3-63 characters: lowercase letters, digits, '.', '-')."
            ),
        ),
        (
            "hf://acme/models",
            "'hf://acme/models': expected hf://org/repo/path/to/file[@revision] (no empty segments).",
        ),
        (
            "hf://acme//models/f.npz",
            "'hf://acme//models/f.npz': expected hf://org/repo/path/to/file[@revision] (no empty segments).",
        ),
        (
            "hf://acme/models/f.npz@",
            "'hf://acme/models/f.npz@': expected .../file@revision with both the file name and the revision.",
        ),
        ("hf://acme/models@/f.npz", "'hf://acme/models@/f.npz': the revision after '@' is empty."),
        (
            "hf://acme/mo dels/f.npz",
            "'hf://acme/mo dels/f.npz': 'mo dels' is not a valid Hub organisation or repo name.",
        ),
        (
            "hf://acme/models/f.npz@a..b",
            "'hf://acme/models/f.npz@a..b': 'a..b' is not a valid revision (a commit sha, branch or tag).",
        ),
        (
            "hf://acme/models/../f.npz",
            "'hf://acme/models/../f.npz': the path in the repo may not contain '.' or '..' segments.",
        ),
        (
            "gs://bucket/key",
            "'gs://bucket/key': unsupported scheme 'gs'; use s3://, hf://, file:// or a plain path.",
        ),
        (
            "file://relative/x",
            "'file://relative/x': a file:// URI needs an absolute path (file:///path/to/model).",
        ),
    ],
)
def test_malformed_uris_raise_value_error_naming_the_problem(uri, message):
    with pytest.raises(ValueError) as caught:
        parse_artifact_uri(uri)
    assert str(caught.value) == message


def test_a_path_inside_the_store_becomes_a_store_location(settings, tmp_path):
    # Given a file inside MODEL_STORE_DIR
    settings.MODEL_STORE_DIR = tmp_path / "store"
    path = tmp_path / "store" / "models" / "m" / "v1" / "model.npz"

    # When its absolute path is parsed, then it is a location relative to the store
    artifact = parse_artifact_uri(str(path))
    assert artifact == StoredArtifact(storage="local", location="models/m/v1/model.npz")
    assert is_external_path(artifact) is False


def test_a_relative_path_outside_the_store_is_external_and_absolute(settings, tmp_path, monkeypatch):
    # Given a working directory outside the store and a relative path in it
    settings.MODEL_STORE_DIR = tmp_path / "store"
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")

    # When it is parsed, then it is an absolute local path flagged as external
    artifact = parse_artifact_uri("./weights/model.npz")
    assert artifact == StoredArtifact(storage="local", location=str((tmp_path / "work/weights/model.npz").resolve()))
    assert is_external_path(artifact) is True


def test_a_file_uri_is_a_local_path(settings, tmp_path):
    settings.MODEL_STORE_DIR = tmp_path / "store"
    artifact = parse_artifact_uri(f"file://{tmp_path}/my%20model.npz")
    assert artifact == StoredArtifact(storage="local", location=str(tmp_path.resolve() / "my model.npz"))


def test_a_folder_is_refused(settings, tmp_path):
    settings.MODEL_STORE_DIR = tmp_path / "store"
    with pytest.raises(ValueError) as caught:
        parse_artifact_uri(str(tmp_path))
    assert str(caught.value) == f"{str(tmp_path)!r} is a folder; give the path of the model file."


def test_pin_revision_leaves_local_artifacts_alone():
    artifact = StoredArtifact(storage="local", location="models/m/v1/model.npz")
    assert pin_revision(artifact) is artifact


@pytest.mark.servers
def test_pin_revision_resolves_an_unpinned_hub_uri_to_the_current_main_sha(hf_settings, make_file):
    # Given two commits to the repo, the file added by the first
    store = HubStore()
    store.put(model="m", version="v1", filename="model.npz", source=make_file("model.npz"))
    latest = store.put(model="m", version="v2", filename="model.npz", source=make_file("model2.npz"))

    # When a URI without a revision is parsed and pinned
    artifact = pin_revision(parse_artifact_uri(f"hf://{hf_settings.HF_MODEL_REPO}/m/v1/model.npz"))

    # Then it is pinned to main's current sha (the second commit), not to "main"
    assert artifact == StoredArtifact(
        storage="hf", location="m/v1/model.npz", bucket=hf_settings.HF_MODEL_REPO, revision=latest.revision
    )


@pytest.mark.servers
def test_pin_revision_of_a_missing_hub_file_raises_artifact_not_found(hf_settings, make_file):
    # Given a repo without the named file
    stored = HubStore().put(model="m", version="v1", filename="model.npz", source=make_file("model.npz"))

    # When its URI is pinned, then ArtifactNotFound names the file and the sha
    with pytest.raises(ArtifactNotFound) as caught:
        pin_revision(parse_artifact_uri(f"hf://{hf_settings.HF_MODEL_REPO}/m/v1/missing.npz@main"))
    assert str(caught.value) == (
        f"hf://{hf_settings.HF_MODEL_REPO}/m/v1/missing.npz does not exist at revision {stored.revision}."
    )


@pytest.mark.servers
def test_pin_revision_records_the_etag_of_an_unpinned_s3_uri(s3_settings, make_file):
    # Given an object in the bucket
    source = make_file("model.npz", content=b"weights")
    S3Store().put(model="m", version="v1", filename="model.npz", source=source)

    # When its URI is parsed and pinned
    artifact = pin_revision(parse_artifact_uri(f"s3://{s3_settings.S3_BUCKET}/models/m/v1/model.npz"))

    # Then its current ETag is recorded
    assert artifact == StoredArtifact(
        storage="s3",
        location="models/m/v1/model.npz",
        bucket=s3_settings.S3_BUCKET,
        revision=f'"{hashlib.md5(b"weights").hexdigest()}"',
    )
