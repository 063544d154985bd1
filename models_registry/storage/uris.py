"""Artifact URIs as people type them (CLI, admin, REST) -> StoredArtifact.

    s3://bucket/models/digit_classifier/v1/model.npz
    hf://org/repo/path/in/repo/model.npz              revision resolved later by pin_revision()
    hf://org/repo/path/in/repo/model.npz@<sha|branch|tag>
    hf://org/repo@<revision>/path/in/repo/model.npz   (huggingface_hub's own spelling, also accepted)
    /abs/path/model.npz, ./relative/model.npz, file:///abs/path/model.npz

Local paths: relative ones are relative to the current directory. A path inside MODEL_STORE_DIR
becomes a location relative to the store (already stored). Any other path stays absolute and
`is_external_path(artifact)` is True: the file is not in the store yet, and copying it in (e.g.
model_version_register(source=...)) is the caller's job.

Unpinned remote artifacts (no revision) are pinned with `pin_revision`: the Hub's current commit sha
of the branch (main by default), or the S3 object's current VersionId/ETag.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from django.conf import settings

from .base import StoredArtifact

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
_REVISION = re.compile(r"^[A-Za-z0-9._\-/]+$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")

__all__ = ["is_external_path", "parse_artifact_uri", "pin_revision"]


def parse_artifact_uri(uri: str) -> StoredArtifact:
    """Parse `s3://`, `hf://`, `file://` or a plain path; raise ValueError naming what is wrong."""
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError("The artifact URI is empty: give s3://bucket/key, hf://org/repo/path[@revision] or a path.")
    uri = uri.strip()
    match = _SCHEME.match(uri)
    if not match:
        return _parse_local(uri, uri)
    scheme = match.group(1).lower()
    rest = uri[match.end() :]
    if scheme == "s3":
        return _parse_s3(uri, rest)
    if scheme == "hf":
        return _parse_hf(uri, rest)
    if scheme == "file":
        if rest.startswith("localhost/"):
            rest = rest[len("localhost") :]
        if not rest.startswith("/"):
            raise ValueError(f"{uri!r}: a file:// URI needs an absolute path (file:///path/to/model).")
        return _parse_local(uri, unquote(rest))
    raise ValueError(f"{uri!r}: unsupported scheme {scheme!r}; use s3://, hf://, file:// or a plain path.")


def is_external_path(artifact: StoredArtifact) -> bool:
    """True for a local file outside MODEL_STORE_DIR: it must be copied into the store before use."""
    return artifact.storage == "local" and Path(artifact.location).is_absolute()


def pin_revision(artifact: StoredArtifact) -> StoredArtifact:
    """Return `artifact` pinned: hf -> the commit sha its revision (default main) points at now, checking
    the file exists there; s3 -> the object's current VersionId or ETag; local -> unchanged."""
    if artifact.storage == "local":
        return artifact
    from . import get_store

    store = get_store(artifact.storage)
    return store.pin(artifact)


def _parse_s3(uri: str, rest: str) -> StoredArtifact:
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"{uri!r}: no bucket; expected s3://bucket/key.")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(
            f"{uri!r}: {bucket!r} is not a valid bucket name (3-63 characters: lowercase letters, digits, '.', '-')."
        )
    if not key or key.endswith("/"):
        raise ValueError(f"{uri!r}: no object key; expected s3://{bucket}/path/to/file.")
    return StoredArtifact(storage="s3", location=key, bucket=bucket)


def _parse_hf(uri: str, rest: str) -> StoredArtifact:
    parts = rest.split("/")
    if len(parts) < 3 or not all(parts):
        raise ValueError(f"{uri!r}: expected hf://org/repo/path/to/file[@revision] (no empty segments).")
    org, name, *path = parts
    revision = ""
    if "@" in name:  # hf://org/repo@rev/path (huggingface_hub's spelling)
        name, revision = name.split("@", 1)
        if not revision:
            raise ValueError(f"{uri!r}: the revision after '@' is empty.")
    elif "@" in path[-1]:
        path[-1], revision = path[-1].rsplit("@", 1)
        if not path[-1] or not revision:
            raise ValueError(f"{uri!r}: expected .../file@revision with both the file name and the revision.")
    for part in (org, name):
        if not _HUB_NAME.match(part):
            raise ValueError(f"{uri!r}: {part!r} is not a valid Hub organisation or repo name.")
    if revision and (not _REVISION.match(revision) or ".." in revision):
        raise ValueError(f"{uri!r}: {revision!r} is not a valid revision (a commit sha, branch or tag).")
    if any(part in (".", "..") for part in path):
        raise ValueError(f"{uri!r}: the path in the repo may not contain '.' or '..' segments.")
    return StoredArtifact(storage="hf", location="/".join(path), bucket=f"{org}/{name}", revision=revision)


def _parse_local(uri: str, raw: str) -> StoredArtifact:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    path = path.resolve()
    if path.is_dir():
        raise ValueError(f"{uri!r} is a folder; give the path of the model file.")
    root = Path(settings.MODEL_STORE_DIR).resolve()
    if path.is_relative_to(root):
        return StoredArtifact(storage="local", location=path.relative_to(root).as_posix())
    return StoredArtifact(storage="local", location=str(path))
