"""HubStore against the Hub-compatible test server, through huggingface_hub itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from models_registry.storage import ArtifactNotFound, StorageError, StoredArtifact, get_store
from models_registry.storage.hf import COMMIT_SHA, HubStore

from .conftest import sha256

pytestmark = pytest.mark.servers


def _main_sha(settings) -> str:
    api = HfApi(endpoint=settings.HF_ENDPOINT, token=settings.HUGGINGFACE_TOKEN)
    return api.repo_info(settings.HF_MODEL_REPO).sha


def test_put_pins_the_upload_commit_and_fetch_returns_the_bytes(hf_settings, make_file, tmp_path):
    # Given a file uploaded to the Hub store (the repo does not exist yet)
    source = make_file("model.npz", size=5000)
    store = get_store()
    stored = store.put(model="digit_classifier", version="v1.0.0", filename="model.npz", source=source)

    # When it is fetched
    dest = tmp_path / "fetched.npz"
    store.fetch(stored, dest)

    # Then the bytes match and the artifact is pinned to the commit that added it
    assert sha256(dest) == sha256(source)
    assert stored == StoredArtifact(
        storage="hf",
        location="digit_classifier/v1.0.0/model.npz",
        bucket=hf_settings.HF_MODEL_REPO,
        revision=_main_sha(hf_settings),
    )
    assert COMMIT_SHA.match(stored.revision)


def test_a_pinned_sha_keeps_serving_the_first_bytes_after_a_second_upload_to_the_same_path(
    hf_settings, make_file, tmp_path
):
    # Given two uploads of different bytes to the same path
    store = HubStore()
    first = store.put(model="m", version="v1", filename="model.npz", source=make_file("a.npz", content=b"first upload"))
    second = store.put(
        model="m", version="v1", filename="model.npz", source=make_file("b.npz", content=b"second upload")
    )

    # When each is fetched by its own sha
    store.fetch(first, tmp_path / "first")
    store.fetch(second, tmp_path / "second")

    # Then the first sha still gives the first bytes
    assert first.revision != second.revision
    assert (tmp_path / "first").read_bytes() == b"first upload"
    assert (tmp_path / "second").read_bytes() == b"second upload"


def test_put_commits_a_metadata_file_beside_the_artifact(hf_settings, make_file):
    # Given an uploaded file
    source = make_file("model.onnx", size=777)
    stored = HubStore().put(model="visual_detector", version="v2", filename="model.onnx", source=source)

    # When the metadata file beside it is read at the same sha
    path = hf_hub_download(
        hf_settings.HF_MODEL_REPO,
        "visual_detector/v2/metadata.json",
        revision=stored.revision,
        endpoint=hf_settings.HF_ENDPOINT,
        token=hf_settings.HUGGINGFACE_TOKEN,
        cache_dir=hf_settings.HF_CACHE_DIR,
    )
    sidecar = json.loads(Path(path).read_text())

    # Then it describes the upload exactly
    assert sidecar.pop("uploaded_at")
    assert sidecar == {
        "model": "visual_detector",
        "version": "v2",
        "filename": "model.onnx",
        "sha256": sha256(source),
        "size": 777,
    }


def test_fetch_reports_progress_summing_to_the_size(hf_settings, make_file, tmp_path):
    # Given an uploaded file
    store = HubStore()
    stored = store.put(model="m", version="v1", filename="f.bin", source=make_file("f.bin", size=3 * 1024 * 1024 + 5))
    seen: list[int] = []

    # When it is fetched with a progress callback, then progress adds up to its size
    store.fetch(stored, tmp_path / "out", progress=seen.append)
    assert sum(seen) == 3 * 1024 * 1024 + 5


def test_a_missing_file_raises_artifact_not_found(hf_settings, make_file, tmp_path):
    # Given a repo with one upload, and a path that was never uploaded
    store = HubStore()
    stored = store.put(model="m", version="v1", filename="model.npz", source=make_file("model.npz"))
    missing = StoredArtifact(storage="hf", location="m/v1/other.npz", bucket=stored.bucket, revision=stored.revision)

    # When it is fetched, then ArtifactNotFound names the file and the sha
    with pytest.raises(ArtifactNotFound) as caught:
        store.fetch(missing, tmp_path / "out")
    assert str(caught.value) == (
        f"hf://{stored.bucket}/m/v1/other.npz does not exist at revision {stored.revision} "
        f"on {hf_settings.HF_ENDPOINT}."
    )
    assert not (tmp_path / "out").exists()


def test_an_unpinned_artifact_is_refused_by_fetch(hf_settings, tmp_path):
    # Given an artifact that names a branch, not a commit sha
    unpinned = StoredArtifact(storage="hf", location="m/v1/model.npz", bucket="org/repo", revision="main")

    # When it is fetched, then the store refuses to download a moving target
    with pytest.raises(StorageError) as caught:
        HubStore().fetch(unpinned, tmp_path / "out")
    assert str(caught.value) == (
        "hf://org/repo/m/v1/model.npz is not pinned to a commit sha (revision 'main'); pin it first "
        "(models_registry.storage.uris.pin_revision)."
    )


def test_a_wrong_token_is_refused_with_a_message_about_the_token(hf_settings, make_file):
    # Given a token the Hub does not accept
    hf_settings.HUGGINGFACE_TOKEN = "hf_wrong"

    # When a file is uploaded, then the error names the token setting
    with pytest.raises(StorageError) as caught:
        HubStore().put(model="m", version="v1", filename="f.bin", source=make_file("f.bin"))
    message = str(caught.value)
    assert message.startswith(f"The Hub at {hf_settings.HF_ENDPOINT} refused the token (HTTP 401) to upload ")
    assert message.endswith("check HUGGINGFACE_TOKEN and that it may write to HF_MODEL_REPO.")


def test_write_model_metadata_commits_the_models_metadata_json(hf_settings, tmp_path):
    # Given model metadata
    metadata = {
        "version": "v1",
        "uploaded_at": "2026-01-01T00:00:00+00:00",
        "accuracy": 0.97,
        "sha256": "ab" * 32,
    }

    # When it is written
    HubStore().write_model_metadata(model="digit_classifier", metadata=metadata)

    # Then {model}/metadata.json on main holds it
    path = hf_hub_download(
        hf_settings.HF_MODEL_REPO,
        "digit_classifier/metadata.json",
        revision=_main_sha(hf_settings),
        endpoint=hf_settings.HF_ENDPOINT,
        token=hf_settings.HUGGINGFACE_TOKEN,
        cache_dir=tmp_path / "reader-cache",
    )
    assert json.loads(Path(path).read_text()) == metadata


def test_check_passes_against_a_reachable_hub_with_the_token(hf_settings):
    assert HubStore().check() is None


def test_check_refuses_a_wrong_token_naming_the_setting(hf_settings):
    # Given a token the Hub does not accept
    hf_settings.HUGGINGFACE_TOKEN = "hf_wrong"

    # When the store is checked, then the error names the token setting
    with pytest.raises(StorageError) as caught:
        HubStore().check()
    assert str(caught.value) == (
        f"The Hub at {hf_settings.HF_ENDPOINT} refused the token (HTTP 401) to access the Hub repo "
        f"'{hf_settings.HF_MODEL_REPO}': check HUGGINGFACE_TOKEN and that it may write to HF_MODEL_REPO."
    )


def test_fetch_keeps_one_copy_ours_and_nothing_in_hf_cache_dir(hf_settings, make_file, tmp_path):
    # Given an uploaded file
    store = HubStore()
    stored = store.put(model="m", version="v1", filename="f.bin", source=make_file("f.bin", size=4096))
    folder = tmp_path / "ours"
    folder.mkdir()

    # When it is fetched into a folder of ours
    store.fetch(stored, folder / "f.bin")

    # Then the file is there alone, and the Hub's cache folder holds no second copy
    assert [p.name for p in folder.iterdir()] == ["f.bin"]
    assert not Path(hf_settings.HF_CACHE_DIR).exists() or list(Path(hf_settings.HF_CACHE_DIR).rglob("*")) == []
