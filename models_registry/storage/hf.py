"""Hugging Face Hub artifact store: one model repo (HF_MODEL_REPO), files pinned to commit shas.

Layout in the repo:

    {model}/{version}/{filename}        the artifact
    {model}/{version}/metadata.json     what was uploaded, in the same commit
    {model}/metadata.json               the active version (write_model_metadata)

`put` returns StoredArtifact(storage="hf", bucket=<repo_id>, location=<path in repo>, revision=<sha of
the commit that added the file>). `fetch` downloads at that sha, never at "main", so a later commit to
the same path never changes what a registered version serves. The endpoint (settings.HF_ENDPOINT, else
huggingface_hub's own: its HF_ENDPOINT variable or huggingface.co) and token (HUGGINGFACE_TOKEN) are passed
explicitly on every call.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from django.conf import settings
from huggingface_hub import CommitOperationAdd, HfApi, constants, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .base import (
    ArtifactNotFound,
    Progress,
    StorageError,
    StoredArtifact,
    sha256_of_file,
)

COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")


class HubStore:
    kind = "hf"

    def __init__(self) -> None:
        self.repo_id: str = settings.HF_MODEL_REPO
        self.endpoint: str = (settings.HF_ENDPOINT or constants.ENDPOINT).rstrip("/")
        # False, not None: never fall back to a token saved on this machine; settings decide.
        self.token: str | bool = settings.HUGGINGFACE_TOKEN or False
        self.api = HfApi(endpoint=self.endpoint, token=self.token)

    # --- the ArtifactStore interface ------------------------------------------------------------

    def put(
        self,
        *,
        model: str,
        version: str,
        filename: str,
        source: Path,
        progress: Progress = None,
    ) -> StoredArtifact:
        """Upload in one commit; `progress` gets the file's size once the commit has landed."""
        repo_id = self._require_repo()
        if filename == "metadata.json":
            raise StorageError("A model file cannot be named metadata.json: the Hub store writes its own beside it.")
        path_in_repo = f"{model}/{version}/{filename}"
        sha256, size = sha256_of_file(source)
        sidecar = {
            "model": model,
            "version": version,
            "filename": filename,
            "sha256": sha256,
            "size": size,
            "uploaded_at": datetime.now(UTC).isoformat(),
        }
        try:
            self.api.create_repo(repo_id, repo_type="model", private=True, exist_ok=True)
            commit = self.api.create_commit(
                repo_id,
                operations=[
                    CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=str(source)),
                    CommitOperationAdd(
                        path_in_repo=f"{model}/{version}/metadata.json",
                        path_or_fileobj=json.dumps(sidecar, indent=2, sort_keys=True).encode(),
                    ),
                ],
                commit_message=f"Add {model} {version} ({filename})",
                repo_type="model",
            )
        except Exception as exc:
            raise self._error(exc, action="upload", path=path_in_repo) from exc
        if progress:
            progress(size)
        return StoredArtifact(
            storage=self.kind,
            location=path_in_repo,
            bucket=repo_id,
            revision=commit.oid,
        )

    def fetch(self, artifact: StoredArtifact, dest: Path, *, progress: Progress = None) -> str:
        """Download at the pinned sha straight beside `dest` and move it into place: the one copy on this
        machine is the caller's (the artifact cache's, bounded and cleared by it). Nothing is written to
        HF_CACHE_DIR. `progress` gets the file's size once it is in place. huggingface_hub writes the file
        itself, so it is hashed after (the one read of it here)."""
        repo_id = artifact.bucket or self._require_repo()
        if not COMMIT_SHA.match(artifact.revision):
            raise StorageError(
                f"hf://{repo_id}/{artifact.location} is not pinned to a commit sha (revision "
                f"{artifact.revision!r}); pin it first (models_registry.storage.uris.pin_revision)."
            )
        # A folder named after `dest` (a `.part` in the artifact cache: counted in its bound, and swept if a
        # killed worker leaves it), on the same filesystem so the move is a rename.
        folder = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f"{dest.name}.", suffix=".hf.part"))
        try:
            try:
                downloaded = hf_hub_download(
                    repo_id,
                    artifact.location,
                    repo_type="model",
                    revision=artifact.revision,
                    local_dir=folder,
                    endpoint=self.endpoint,
                    token=self.token,
                    # Each read of the body is bounded by huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT (10 s).
                    etag_timeout=settings.ATLAS_STORE_READ_SECONDS,
                )
            except Exception as exc:
                raise self._error(
                    exc,
                    action="download",
                    path=artifact.location,
                    revision=artifact.revision,
                ) from exc
            os.replace(downloaded, dest)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        sha256, size = sha256_of_file(dest)
        if progress:
            progress(size)
        return sha256

    def write_model_metadata(
        self, *, model: str, metadata: dict[str, Any], latest: StoredArtifact | None = None
    ) -> None:
        """Commit {model}/metadata.json. The Hub keeps no `latest/` copy: the sha pins each version."""
        repo_id = self._require_repo()
        path_in_repo = f"{model}/metadata.json"
        try:
            self.api.create_repo(repo_id, repo_type="model", private=True, exist_ok=True)
            self.api.create_commit(
                repo_id,
                operations=[
                    CommitOperationAdd(
                        path_in_repo=path_in_repo,
                        path_or_fileobj=json.dumps(metadata, indent=2, sort_keys=True).encode(),
                    )
                ],
                commit_message=f"Update {model} metadata",
                repo_type="model",
            )
        except Exception as exc:
            raise self._error(exc, action="write", path=path_in_repo) from exc

    def latest(self, *, model: str, aliases: Sequence[str] = ()) -> StoredArtifact:
        raise ArtifactNotFound("the Hub store keeps no latest/ copy (each version is pinned to a commit sha)")

    def check(self) -> None:
        repo_id = self._require_repo()
        try:
            self.api.repo_info(repo_id, repo_type="model", timeout=settings.ATLAS_STORE_READ_SECONDS)
        except RepositoryNotFoundError:
            return  # `put` creates it; reaching the Hub with an accepted token is what counts here.
        except Exception as exc:
            raise self._error(exc, action="access", path="") from exc

    def pin(self, artifact: StoredArtifact) -> StoredArtifact:
        """Resolve a branch, tag or missing revision to the commit sha it points at now, and check the file
        exists there. A 40-hex sha is kept as it is."""
        repo_id = artifact.bucket or self._require_repo()
        revision = artifact.revision
        try:
            if not COMMIT_SHA.match(revision):
                resolved = self.api.repo_info(
                    repo_id, repo_type="model", revision=revision or "main", timeout=settings.ATLAS_STORE_READ_SECONDS
                ).sha
                if not resolved:
                    raise StorageError(f"The Hub at {self.endpoint} named no commit for {revision or 'main'!r}.")
                revision = resolved
            exists = self.api.file_exists(repo_id, artifact.location, repo_type="model", revision=revision)
        except Exception as exc:
            raise self._error(exc, action="find", path=artifact.location, revision=revision, repo=repo_id) from exc
        if not exists:
            raise ArtifactNotFound(f"hf://{repo_id}/{artifact.location} does not exist at revision {revision}.")
        return StoredArtifact(
            storage=self.kind,
            location=artifact.location,
            bucket=repo_id,
            revision=revision,
        )

    # --- helpers --------------------------------------------------------------------------------

    def _require_repo(self) -> str:
        if not self.repo_id:
            raise StorageError("HF_MODEL_REPO is not set: name the Hub repo (org/name) that holds the models.")
        return self.repo_id

    def _error(self, exc: Exception, *, action: str, path: str, revision: str = "", repo: str = "") -> StorageError:
        repo = repo or self.repo_id
        where = f"hf://{repo}/{path}" if path else f"the Hub repo {repo!r}"
        at = f" at revision {revision}" if revision else ""
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, RemoteEntryNotFoundError):
            return ArtifactNotFound(f"{where} does not exist{at} on {self.endpoint}.")
        if isinstance(exc, RevisionNotFoundError):
            return ArtifactNotFound(f"{where}: revision {revision or '?'} does not exist on {self.endpoint}.")
        if isinstance(exc, RepositoryNotFoundError):
            return ArtifactNotFound(
                f"The Hub repo {repo!r} does not exist on {self.endpoint}, or HUGGINGFACE_TOKEN may not see it."
            )
        if isinstance(exc, HfHubHTTPError):
            status = exc.response.status_code
            if status in (401, 403):
                return StorageError(
                    f"The Hub at {self.endpoint} refused the token (HTTP {status}) to {action} {where}: "
                    "check HUGGINGFACE_TOKEN and that it may write to HF_MODEL_REPO."
                )
            return StorageError(f"The Hub at {self.endpoint} failed to {action} {where}{at}: {exc}")
        if isinstance(exc, (httpx2.TransportError, LocalEntryNotFoundError)):
            return StorageError(
                f"Cannot reach the Hub at {self.endpoint} to {action} {where}: check HF_ENDPOINT. ({exc})"
            )
        if isinstance(exc, EntryNotFoundError):
            return ArtifactNotFound(f"{where} does not exist{at} on {self.endpoint}.")
        return StorageError(f"Could not {action} {where}{at} on {self.endpoint}: {exc}")
