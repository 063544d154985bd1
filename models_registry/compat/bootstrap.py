"""A fresh deployment of the MNIST service Atlas replaces: HF_MODEL_REPO holds `{name}.npz` networks (each
with its `{name}.json`), DEFAULT_MODEL names the one to serve.

`adopt_hub_models()` runs at worker start (inference.serving) and from `manage.py adopt_hf`:
- when the registry has no version of `digit_classifier`, every `{name}.npz` of the repo is registered as
  version `{name}`, pinned to the repo's current commit sha, with its .json as metrics and metadata, and
  the version named DEFAULT_MODEL is activated;
- when it already has versions, nothing is registered or promoted: the registry decides what is served.
  If DEFAULT_MODEL names another version than the active one, the active one (an admin's promotion, or
  the first bootstrap) wins, and the outcome says so (log and /healthz), because silently re-activating
  at every restart would undo promotions made in the admin.

The outcome of the last run in this process is kept in `last_outcome()`; health shows `current_outcome()`, the
same brought up to date when the active version changed since.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import transaction

from .. import services
from ..models import RegisteredModel
from ..storage import StorageError, get_store
from ..storage.base import ArtifactStore, StoredArtifact
from ..versioning import is_valid_version
from . import sidecar

if TYPE_CHECKING:
    from ..storage.hf import HubStore

logger = logging.getLogger(__name__)

MODEL_NAME = "digit_classifier"
RUNTIME = "numpy_mlp"
ACTOR = "bootstrap:HF_MODEL_REPO"

_last: dict[str, object] | None = None


def last_outcome() -> dict[str, object] | None:
    return _last


def current_outcome() -> dict[str, object] | None:
    """What health says about DEFAULT_MODEL: the last run's outcome while the active version is still the one
    it names, else what is true of the registry now (a promotion since the start made the start's words stale).
    None when no run happened in this process."""
    last = _last
    if last is None:
        return None
    model = RegisteredModel.objects.select_related("active_version").filter(name=MODEL_NAME).first()
    if model is None or not model.versions.exists():
        return last
    active = model.active_version.version if model.active_version else None
    if "active" in last and last["active"] == active:
        return last
    return _explain_existing(model)


def _record(outcome: dict[str, object]) -> dict[str, object]:
    global _last
    _last = outcome
    logger.log(logging.WARNING if outcome.get("warning") else logging.INFO, "hub bootstrap: %s", outcome["detail"])
    return outcome


def _hub_networks(store: HubStore, repo: str) -> tuple[str, list[str], set[str]]:
    """(commit sha now, the top-level .npz paths, every path) of the repo's main branch. Only the top level:
    the old service's repo keeps `{name}.npz` there (Atlas's own uploads live under `{model}/{version}/`)."""
    info = store.api.model_info(repo, revision="main")  # what repo_info(repo_type="model") calls
    if info.sha is None:  # the Hub always answers one; without it nothing could be pinned
        raise StorageError(f"hf://{repo}: the Hub answered no commit sha for main.")
    files = {s.rfilename for s in (info.siblings or [])}
    return info.sha, sorted(f for f in files if f.lower().endswith(".npz") and "/" not in f), files


def _sidecar_for(
    store: ArtifactStore, repo: str, sha: str, npz: str, files: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    json_path = str(PurePosixPath(npz).with_suffix(".json"))
    if json_path not in files:
        return {}, {}
    with tempfile.TemporaryDirectory(prefix="atlas-sidecar-") as scratch:
        dest = Path(scratch) / "sidecar.json"
        store.fetch(StoredArtifact(storage="hf", location=json_path, bucket=repo, revision=sha), dest)
        try:
            return sidecar.parse(dest.read_bytes())
        except sidecar.SidecarError as exc:
            logger.warning("hub bootstrap: %s: %s (registered without it)", json_path, exc)
            return {}, {}


def _explain_existing(model: RegisteredModel) -> dict[str, object]:
    default = settings.DEFAULT_MODEL
    active = model.active_version.version if model.active_version else None
    if active is None:
        detail = (
            f"{MODEL_NAME} has versions but none is active; promote one in the admin (DEFAULT_MODEL is not applied)."
        )
        return {"outcome": "no_active_version", "active": None, "default_model": default, "detail": detail}
    if active == default or not model.versions.filter(version=default).exists():
        detail = f"{MODEL_NAME}@{active} is active; the registry already has versions, nothing adopted."
        return {"outcome": "registry_kept", "active": active, "default_model": default, "detail": detail}
    detail = (
        f"DEFAULT_MODEL={default} is not applied: {MODEL_NAME}@{active} stays active because the registry "
        "decides once it has versions (a promotion made in the admin is never overridden at start); "
        f"promote {default} in the admin to serve it."
    )
    return {"outcome": "active_wins", "active": active, "default_model": default, "detail": detail, "warning": True}


def adopt_hub_models() -> dict[str, object]:
    """Adopt the Hub repo's networks into an empty registry (see the module's docstring); the outcome."""
    repo = settings.HF_MODEL_REPO
    model = RegisteredModel.objects.select_related("active_version").filter(name=MODEL_NAME).first()
    if model is not None and model.versions.exists():
        return _record(_explain_existing(model))
    if not repo:
        return _record({"outcome": "not_configured", "detail": "HF_MODEL_REPO is not set: nothing to adopt."})
    store = cast("HubStore", get_store("hf"))  # the "hf" kind is always a HubStore
    try:
        sha, networks, files = _hub_networks(store, repo)
    except Exception as exc:  # the Hub unreachable must never stop a worker from serving the rest
        detail = f"could not list hf://{repo}: {exc}"
        return _record({"outcome": "hub_unreachable", "detail": detail, "warning": True})
    registered: list[str] = []
    for npz in networks:
        name = PurePosixPath(npz).stem
        if not is_valid_version(name):
            logger.warning("hub bootstrap: %s skipped: %r is not a valid version name", npz, name)
            continue
        try:
            metrics, metadata = _sidecar_for(store, repo, sha, npz, files)
            services.model_version_register_stored(
                model_name=MODEL_NAME,
                version=name,
                artifact=StoredArtifact(storage="hf", location=npz, bucket=repo, revision=sha),
                runtime=RUNTIME,
                metrics=metrics,
                metadata=metadata,
                notes=f"Adopted from hf://{repo}@{sha} at first start.",
                actor=ACTOR,
            )
            registered.append(name)
        except (services.RegistryError, StorageError) as exc:  # another worker got there first, or a bad file
            logger.warning("hub bootstrap: %s not registered: %s", npz, exc)
    return _record(_activate_default(sha=sha, registered=registered, repo=repo))


def _activate_default(*, sha: str, registered: list[str], repo: str) -> dict[str, object]:
    default = settings.DEFAULT_MODEL
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().filter(name=MODEL_NAME).first()
        if model is None:
            return {"outcome": "nothing_adopted", "detail": f"hf://{repo}@{sha} has no usable .npz network."}
        if model.active_version_id is not None:
            return _explain_existing(model)
        version = model.versions.filter(version=default).first()
    base = {"registered": registered, "revision": sha, "default_model": default}
    if version is None:
        detail = f"registered {registered} from hf://{repo}@{sha}; DEFAULT_MODEL={default} is not among them."
        return {"outcome": "no_default", "active": None, "detail": detail, "warning": True, **base}
    try:
        services.model_version_promote(version=version, actor=ACTOR, reason="DEFAULT_MODEL at first start")
    except services.RegistryError as exc:
        detail = f"registered {registered}; activating DEFAULT_MODEL={default} failed: {exc}"
        return {"outcome": "activation_failed", "active": None, "detail": detail, "warning": True, **base}
    detail = f"registered {registered} from hf://{repo}@{sha}; DEFAULT_MODEL={default} is active."
    return {"outcome": "adopted", "active": default, "detail": detail, **base}


def adopt_at_start() -> None:
    """The serving process's call: any failure is logged, never raised (a worker must start regardless)."""
    try:
        adopt_hub_models()
    except Exception:
        logger.exception("hub bootstrap failed; serving what the registry has")


def forget_outcome() -> None:
    """Tests: forget the last outcome (health shows `default_model` only after a run in this process)."""
    global _last
    _last = None
