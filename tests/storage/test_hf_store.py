"""HubStore against the Hub-compatible test server, through huggingface_hub itself: what the store contract
(test_store_contract.py) does not express -- the sidecar metadata, unpinned revisions, the token, one copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download

from models_registry.storage import StorageError, StoredArtifact
from models_registry.storage.hf import HubStore

from .conftest import sha256

pytestmark = pytest.mark.servers


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
