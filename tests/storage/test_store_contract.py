"""The contract every store of settings.ATLAS_STORES passes, against real servers: the local folder,
SeaweedFS (S3 with SigV4) and the Hub-compatible test server (through huggingface_hub).

A new store adds one `Case` below. What stays in test_s3_store.py and test_hf_store.py is what this
contract does not express: multipart uploads, versioned buckets, the `latest/` copy, credentials, the Hub's
sidecar metadata and its refusal of unpinned revisions.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from models_registry import artifact_cache
from models_registry.storage import ArtifactNotFound, StorageError, StoredArtifact, get_store

from .conftest import sha256

pytestmark = pytest.mark.servers

MODEL, VERSION, FILENAME = "digit_classifier", "v1.0.0", "model.npz"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hub_main_sha(settings: Any) -> str:
    sha = HfApi(endpoint=settings.HF_ENDPOINT, token=settings.HUGGINGFACE_TOKEN).repo_info(settings.HF_MODEL_REPO).sha
    assert sha is not None
    return sha


def _make_local_dead(settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    settings.MODEL_STORE_DIR = blocker / "store"  # a folder inside a file cannot be made


def _make_s3_dead(settings: Any, tmp_path: Path) -> None:
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"


def _make_hub_dead(settings: Any, tmp_path: Path) -> None:
    settings.HF_ENDPOINT = f"http://127.0.0.1:{_closed_port()}"


@dataclass(frozen=True)
class Case:
    kind: str
    settings_fixture: str  # the fixture that points the store at its server ("" for the local folder)
    prefix: str  # where models/{model}/... lives in the store: "models/" in a folder or bucket, "" in a Hub repo
    bucket: Callable[[Any], str]  # StoredArtifact.bucket for this store under these settings
    revision: Callable[[bytes, Any], str]  # the revision `put` records for these bytes
    # What a fetch of the first artifact gives once other bytes were put at its location:
    # "refused" (StorageError), "first bytes" (the pinned ones) or "changed bytes" (no revision to pin).
    after_change: str
    make_dead: Callable[[Any, Path], None]  # settings under which the store cannot be reached
    dead_message: Callable[[Any], str]  # how check()'s StorageError starts then
    missing_message: Callable[[StoredArtifact, Any], str]  # ArtifactNotFound's message for a missing file
    # `latest()`: "" where the store keeps the latest/ copy, else the ArtifactNotFound message (reload-models: a 400)
    latest_refusal: str = ""


CASES = [
    Case(
        kind="local",
        settings_fixture="",
        prefix="models/",
        bucket=lambda settings: "",
        revision=lambda data, settings: "",
        after_change="changed bytes",
        make_dead=_make_local_dead,
        dead_message=lambda settings: f"Cannot use the local store {settings.MODEL_STORE_DIR}: ",
        missing_message=lambda artifact, settings: (
            f"{Path(settings.MODEL_STORE_DIR).resolve() / artifact.location} does not exist in the local store."
        ),
        latest_refusal="the local store keeps no latest/ copy",
    ),
    Case(
        kind="s3",
        settings_fixture="s3_settings",
        prefix="models/",
        bucket=lambda settings: settings.S3_BUCKET,
        revision=lambda data, settings: f'"{hashlib.md5(data).hexdigest()}"',  # unversioned bucket: the ETag
        after_change="refused",
        make_dead=_make_s3_dead,
        dead_message=lambda settings: f"Cannot reach S3 at {settings.S3_ENDPOINT_URL} to access bucket ",
        missing_message=lambda artifact, settings: (
            f"s3://{artifact.bucket}/{artifact.location} at revision {artifact.revision} does not exist at "
            f"{settings.S3_ENDPOINT_URL}."
        ),
    ),
    Case(
        kind="hf",
        settings_fixture="hf_settings",
        prefix="",
        bucket=lambda settings: settings.HF_MODEL_REPO,
        revision=lambda data, settings: _hub_main_sha(settings),  # the commit that added the file
        after_change="first bytes",
        make_dead=_make_hub_dead,
        dead_message=lambda settings: f"Cannot reach the Hub at {settings.HF_ENDPOINT} to access the Hub repo ",
        missing_message=lambda artifact, settings: (
            f"hf://{artifact.bucket}/{artifact.location} does not exist at revision {artifact.revision} "
            f"on {settings.HF_ENDPOINT}."
        ),
        latest_refusal="the Hub store keeps no latest/ copy (each version is pinned to a commit sha)",
    ),
]


@pytest.fixture(params=CASES, ids=[case.kind for case in CASES])
def case(request, settings, tmp_path) -> Case:
    """Settings pointing the case's store at its running server (local: an empty folder of this test)."""
    chosen: Case = request.param
    settings.MODEL_STORE_DIR = tmp_path / "store"
    if chosen.settings_fixture:
        request.getfixturevalue(chosen.settings_fixture)
    return chosen


def _fetch_outcome(artifact: StoredArtifact, dest: Path, *, first: bytes, changed: bytes) -> str:
    try:
        get_store(artifact.storage).fetch(artifact, dest)
    except ArtifactNotFound:
        return "not found"
    except StorageError:
        return "refused" if not dest.exists() else "refused, leaving a file"
    return {first: "first bytes", changed: "changed bytes"}.get(dest.read_bytes(), "other bytes")


def test_put_records_where_the_bytes_went_and_fetch_returns_them(case, settings, make_file, tmp_path):
    # Given a file put into the store
    source = make_file(FILENAME, size=4096)
    stored = get_store(case.kind).put(model=MODEL, version=VERSION, filename=FILENAME, source=source)

    # When it is fetched back
    dest = tmp_path / "fetched"
    get_store(case.kind).fetch(stored, dest)

    # Then the bytes are the same and the record names the store, the place and the pinned revision
    assert sha256(dest) == sha256(source)
    assert stored == StoredArtifact(
        storage=case.kind,
        location=f"{case.prefix}{MODEL}/{VERSION}/{FILENAME}",
        bucket=case.bucket(settings),
        revision=case.revision(source.read_bytes(), settings),
    )


def test_a_pinned_fetch_never_gives_bytes_put_later_at_the_same_place(case, make_file, tmp_path):
    """S3 (unversioned bucket) refuses an object whose ETag changed; the Hub serves the pinned commit's
    bytes. The local store has no revision: it serves what the folder holds now, and the sha256 the registry
    recorded at registration decides (the artifact cache refuses it; see the next test)."""
    # Given an artifact, and other bytes put at the same place afterwards
    store = get_store(case.kind)
    first = store.put(model=MODEL, version=VERSION, filename=FILENAME, source=make_file("a", content=b"first"))
    store.put(model=MODEL, version=VERSION, filename=FILENAME, source=make_file("b", content=b"changed"))

    # When the first artifact is fetched
    outcome = _fetch_outcome(first, tmp_path / "fetched", first=b"first", changed=b"changed")

    # Then the store refuses, or gives the first bytes (local: the changed ones, left to the sha256)
    assert outcome == case.after_change


def test_the_local_stores_changed_bytes_are_refused_by_the_sha256_recorded(settings, make_file, tmp_path):
    # Given a local artifact registered with its sha256, whose file was then replaced
    settings.MODEL_STORE_DIR = tmp_path / "store"
    settings.MODEL_CACHE_DIR = tmp_path / "cache"
    store = get_store("local")
    source = make_file("a", content=b"first")
    stored = store.put(model=MODEL, version=VERSION, filename=FILENAME, source=source)
    store.put(model=MODEL, version=VERSION, filename=FILENAME, source=make_file("b", content=b"changed"))

    # When it is fetched through the artifact cache, then the bytes are refused and nothing is cached
    verified = artifact_cache.open_verified(artifact=stored, sha256=sha256(source), fmt="npz")
    with pytest.raises(artifact_cache.ChecksumMismatch) as caught, verified:
        pass
    assert caught.value.actual == hashlib.sha256(b"changed").hexdigest()
    assert list((tmp_path / "cache").glob("*.npz")) == []


def test_write_model_metadata_is_read_back_at_the_models_metadata_json(case, settings, tmp_path):
    # Given model metadata written to the store
    metadata = {"version": VERSION, "accuracy": 0.97, "sha256": "ab" * 32, "uploaded_at": "2026-01-01T00:00:00+00:00"}
    store = get_store(case.kind)
    store.write_model_metadata(model=MODEL, metadata=metadata)

    # When {prefix}{model}/metadata.json is pinned and fetched through the store itself
    where = StoredArtifact(
        storage=case.kind, location=f"{case.prefix}{MODEL}/metadata.json", bucket=case.bucket(settings)
    )
    store.fetch(store.pin(where), tmp_path / "metadata.json")

    # Then it holds exactly that JSON
    assert json.loads((tmp_path / "metadata.json").read_text()) == metadata


def test_latest_is_the_file_written_as_latest_or_a_clear_refusal(case, settings, make_file, tmp_path):
    # Given a version put and written as the model's latest
    store = get_store(case.kind)
    source = make_file(FILENAME, size=2048)
    stored = store.put(model=MODEL, version=VERSION, filename=FILENAME, source=source)
    store.write_model_metadata(model=MODEL, metadata={"version": VERSION}, latest=stored)

    # When the store is asked for what latest/ holds
    try:
        latest = store.latest(model=MODEL)
    except StorageError as exc:
        # Then a store without latest/ says so
        assert (type(exc), str(exc)) == (ArtifactNotFound, case.latest_refusal)
        return

    # Then it is the copy at latest/, pinned, with the version's bytes
    assert (case.latest_refusal, latest.location, latest.revision != "") == (
        "",
        f"models/{MODEL}/latest/{FILENAME}",
        True,
    )
    store.fetch(latest, tmp_path / "latest")
    assert (tmp_path / "latest").read_bytes() == source.read_bytes()


def test_check_passes_on_a_live_store(case):
    assert get_store(case.kind).check() is None


def test_check_raises_storage_error_on_a_store_that_cannot_be_reached(case, settings, tmp_path):
    # Given settings under which the store cannot be reached
    case.make_dead(settings, tmp_path)

    # When it is checked, then a StorageError (not ArtifactNotFound) says what could not be reached
    with pytest.raises(StorageError) as caught:
        get_store(case.kind).check()
    assert type(caught.value) is StorageError
    assert str(caught.value).startswith(case.dead_message(settings))


def test_pin_records_the_revision_put_recorded(case, make_file):
    # Given an artifact put into the store, named again without its revision (as a registered URI is)
    store = get_store(case.kind)
    stored = store.put(model=MODEL, version=VERSION, filename=FILENAME, source=make_file(FILENAME))

    # When it is pinned, then it carries the revision put recorded
    assert store.pin(replace(stored, revision="")) == stored


def test_a_missing_file_raises_artifact_not_found(case, settings, make_file, tmp_path):
    # Given a store holding one file, and a file beside it that was never put
    store = get_store(case.kind)
    stored = store.put(model=MODEL, version=VERSION, filename=FILENAME, source=make_file(FILENAME))
    missing = replace(stored, location=stored.location.replace(FILENAME, "other.npz"))

    # When the missing file is fetched, then ArtifactNotFound names it, and nothing is written
    with pytest.raises(ArtifactNotFound) as caught:
        store.fetch(missing, tmp_path / "fetched")
    assert str(caught.value) == case.missing_message(missing, settings)
    assert not (tmp_path / "fetched").exists()


def test_fetch_returns_the_sha256_of_the_bytes_it_wrote(case, make_file, tmp_path):
    # Given a file put into the store, in several chunks and (for S3) several ranged parts
    store = get_store(case.kind)
    source = make_file(FILENAME, size=17 * 1024 * 1024 + 3)
    stored = store.put(model=MODEL, version=VERSION, filename=FILENAME, source=source)

    # When it is fetched, then it returns the sha256 of what it wrote, which is the source's
    dest = tmp_path / "fetched"
    assert (store.fetch(stored, dest), sha256(dest)) == (sha256(source), sha256(source))


def test_fetch_reports_progress_summing_to_the_size(case, make_file, tmp_path):
    # Given a file put into the store, larger than one chunk
    store = get_store(case.kind)
    stored = store.put(
        model=MODEL, version=VERSION, filename=FILENAME, source=make_file(FILENAME, size=3 * 1024 * 1024 + 5)
    )
    seen: list[int] = []

    # When it is fetched with a progress callback, then progress adds up to its size
    store.fetch(stored, tmp_path / "fetched", progress=seen.append)
    assert sum(seen) == 3 * 1024 * 1024 + 5
