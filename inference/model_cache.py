"""The process-local cache of loaded models: model name -> (version, predictor).

The request path calls `get(name)`: a dictionary read, no database, no storage. Only a miss (the first
request for a model in a process that did not preload it) reads the registry and loads.

`activate(version=...)` is how a new version arrives (from the `model_activated` receiver): the new
version is loaded and warmed beside the old one, then one reference is swapped. If loading fails, the
old version keeps serving, and the failure is recorded for health.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from models_registry import last_known, selectors, services, trust
from models_registry.metrics import MODEL_LOAD_FAILURES
from models_registry.models import ModelVersion
from models_registry.runtimes import Predictor, load_and_warm
from models_registry.services import worker_reports

from . import metrics, rollouts, served_models

logger = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    def __init__(self, model_name: str, reason: str) -> None:
        self.model_name = model_name
        super().__init__(reason)


class ModelNotServed(ModelUnavailable):
    """This replica does not serve the model (ATLAS_SERVE_MODELS)."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    version_id: int
    sha256: str
    # What the runtime's load returned: each view narrows it to its runtime's Protocol
    # (inference.runtimes.protocols), so mypy checks every call on a served model.
    predictor: Predictor
    metadata: dict[str, Any]
    loaded_at: datetime
    from_last_known: bool = False  # loaded while the registry was unreachable (models_registry.last_known)


@dataclass(frozen=True)
class LoadFailure:
    version: str
    version_id: int
    error: str
    at: float
    attempts: int = 1

    @property
    def retry_at(self) -> float:
        """Capped exponential back-off per worker: 5 s, 10 s, 20 s ... 300 s after the last attempt."""
        backoff: float = RETRY_AFTER_SECONDS * 2 ** (self.attempts - 1)  # int ** int is Any to mypy
        return self.at + min(backoff, RETRY_MAX_SECONDS)

    def waiting(self, version_id: int) -> bool:
        return self.version_id == version_id and time.monotonic() < self.retry_at


_models: dict[str, LoadedModel] = {}
_failures: dict[str, LoadFailure] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
# Only a process that serves requests reports what it has loaded (not a management command that
# promoted a version, nor the test runner): serving.start() and the first request's load turn it on.
_serving = False

# A worker that failed to load a version waits 5 s before trying that same version again, then twice
# as long after each further failure, up to 5 minutes. A different version (a new promotion) starts over.
RETRY_AFTER_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


@dataclass(frozen=True)
class RolloutRoute:
    """A running rollout as this worker serves it: the candidate loaded beside the stable version."""

    rollout_id: int
    mode: str  # canary | shadow
    percent: float
    meta_key: str  # the route header as it appears in request.META
    stable_version_id: int
    candidate: LoadedModel
    mirrored: LoadedModel | None  # shadow: the stable entry, whose prediction calls the candidate also sees


_rollouts: dict[str, RolloutRoute] = {}
_candidate_failures: dict[int, float] = {}  # candidate version id -> when its load failed here


def get(name: str) -> LoadedModel:
    loaded = _models.get(name) or _load_active(name)
    route = _rollouts.get(name)
    if route is None or route.stable_version_id != loaded.version_id:
        metrics.note_served(loaded.name, loaded.version)
        return loaded
    if route.mode == "shadow":
        assert route.mirrored is not None
        chosen, role = route.mirrored, "stable"
    else:
        scope = metrics.current.get()
        key = scope.meta.get(route.meta_key) if scope is not None else None
        candidate = rollouts.choose_candidate(rollout_id=route.rollout_id, percent=route.percent, key=key)
        chosen, role = (route.candidate, "candidate") if candidate else (loaded, "stable")
    metrics.note_served(chosen.name, chosen.version, (route.rollout_id, role))
    return chosen


def served_entries(name: str) -> list[LoadedModel]:
    """What this worker serves of `name`: its active entry, then a running rollout's candidate (for a request
    that names its version)."""
    entries = [entry] if (entry := _models.get(name)) is not None else []
    route = _rollouts.get(name)
    return entries + [route.candidate] if route is not None else entries


def rollout_state() -> dict[str, tuple[int, float]]:
    """Model name -> (rollout id, percent) of the rollouts this worker serves."""
    return {name: (route.rollout_id, route.percent) for name, route in _rollouts.items()}


def apply_rollouts(running: dict[str, Any]) -> None:
    """Serve the registry's running rollouts (model name -> Rollout): load each new candidate beside the
    stable version (verified and warmed like a promotion), follow percent changes, drop ended ones."""
    for name, route in list(_rollouts.items()):
        rollout = running.get(name)
        if rollout is None or rollout.pk != route.rollout_id:
            del _rollouts[name]
            logger.info("rollout %s of %s ended here: serving %s only", route.rollout_id, name, name)
        elif rollout.percent != route.percent:
            _rollouts[name] = RolloutRoute(**{**route.__dict__, "percent": rollout.percent})
    for name, rollout in running.items():
        current = _models.get(name)
        if name in _rollouts or current is None or current.version_id != rollout.stable_id:
            continue  # served already, or this worker is not on the rollout's stable version (yet)
        failed_at = _candidate_failures.get(rollout.candidate_id)
        if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER_SECONDS:
            continue
        candidate_version = rollout.candidate
        try:
            predictor = _load(candidate_version, force_download=False)
        except Exception as exc:
            _candidate_failures[rollout.candidate_id] = time.monotonic()
            logger.error("could not load rollout candidate %s@%s: %s", name, candidate_version.version, exc)
            continue
        candidate = LoadedModel(
            name=name,
            version=candidate_version.version,
            version_id=candidate_version.pk,
            sha256=candidate_version.sha256,
            predictor=predictor,
            metadata=dict(candidate_version.metadata),
            loaded_at=timezone.now(),
        )
        mirrored = None
        if rollout.mode == "shadow":
            mirrored = LoadedModel(
                **{**current.__dict__, "predictor": rollouts.Mirrored(current.predictor, predictor, rollout.pk)}
            )
        header = rollout.route_header.upper().replace("-", "_")
        _rollouts[name] = RolloutRoute(
            rollout_id=rollout.pk,
            mode=rollout.mode,
            percent=rollout.percent,
            meta_key=header if header in {"CONTENT_TYPE", "CONTENT_LENGTH"} else f"HTTP_{header}",
            stable_version_id=rollout.stable_id,
            candidate=candidate,
            mirrored=mirrored,
        )
        logger.info("rollout %s: serving %s@%s as a %s candidate", rollout.pk, name, candidate.version, rollout.mode)


def require_served(name: str) -> None:
    """Raise ModelNotServed unless this process serves `name` (ATLAS_SERVE_MODELS): no database, no load."""
    if not served_models.serves(name):
        raise ModelNotServed(name, served_models.not_served_reason(name))


def _load_active(name: str) -> LoadedModel:
    require_served(name)
    mark_serving()
    with _lock_for(name):
        loaded = _models.get(name)
        if loaded is not None:
            return loaded
        from_pointer = False
        try:
            version = selectors.active_version_of(name=name)
        except DatabaseError:
            version, from_pointer = _last_known(name), True
        if version is None:
            raise ModelUnavailable(
                name, f"No active version of {name!r}: register one and promote it (admin, API or manage.py)."
            )
        failure = _failures.get(name)
        if failure and failure.waiting(version.pk):
            # A request must not fetch and hash a broken file again and again: wait out the back-off.
            raise ModelUnavailable(name, f"{version} could not be loaded: {failure.error}")
        try:
            return _install(version, _load(version, force_download=False), from_last_known=from_pointer)
        except Exception as exc:
            _record_failure(version, exc)
            raise ModelUnavailable(name, f"{version} could not be loaded: {exc}") from exc


def _last_known(name: str) -> ModelVersion:
    """The registry is unreachable: the version this replica last served as active (ModelUnavailable if none)."""
    for version in last_known.versions():
        if version.model.name == name:
            return version
    raise ModelUnavailable(name, f"The registry is unreachable and this replica never served {name!r}; retry later.")


def _load(version: ModelVersion, *, force_download: bool) -> Any:
    trust.require_trusted(version)  # a format that runs code on load: trusted or signed, checked every load
    with services.model_version_file(version=version, force=force_download) as path:
        return load_and_warm(version.model.runtime, path, metadata=version.metadata)


def _install(version: ModelVersion, predictor: Any, *, from_last_known: bool = False) -> LoadedModel:
    name = version.model.name
    loaded = LoadedModel(
        name=name,
        version=version.version,
        version_id=version.pk,
        sha256=version.sha256,
        predictor=predictor,
        metadata=dict(version.metadata),
        loaded_at=timezone.now(),
        from_last_known=from_last_known,
    )
    _models[name] = loaded  # the swap: one reference
    _failures.pop(name, None)
    last_known.remember(version)
    _report(name=name, version_id=version.pk, loaded_at=loaded.loaded_at, error="")
    logger.info("serving %s@%s", name, version.version)
    return loaded


def _record_failure(version: ModelVersion, exc: BaseException) -> None:
    name = version.model.name
    error = f"{version.version}: {type(exc).__name__}: {exc}"
    previous = _failures.get(name)
    attempts = previous.attempts + 1 if previous is not None and previous.version_id == version.pk else 1
    _failures[name] = LoadFailure(
        version=version.version, version_id=version.pk, error=error, at=time.monotonic(), attempts=attempts
    )
    MODEL_LOAD_FAILURES.labels(name, version.version).inc()
    current = _models.get(name)
    _report(
        name=name,
        version_id=current.version_id if current else None,
        loaded_at=current.loaded_at if current else None,
        error=error,
    )
    serving = current.version if current else "nothing"
    logger.error("could not load %s@%s, still serving %s: %s", name, version.version, serving, error)


def activate(
    *, version: ModelVersion, predictor: Any = None, force_download: bool = False, from_last_known: bool = False
) -> LoadedModel | None:
    """Serve `version` in this process. Returns the new entry, or None when loading failed (the old
    version keeps serving) or is being retried too soon. `from_last_known`: the registry is unreachable and
    `version` is the last known active one (an entry loaded so is loaded again once the registry answers)."""
    name = version.model.name
    if not served_models.serves(name):
        return None  # another replica serves it (ATLAS_SERVE_MODELS)
    with _lock_for(name):
        current = _models.get(name)
        if (
            current is not None
            and current.version_id == version.pk
            and (from_last_known or not current.from_last_known)  # the registry's row replaces a pointer's
            and predictor is None
            and not force_download
        ):
            return current
        failure = _failures.get(name)
        if predictor is None and not force_download and failure is not None and failure.waiting(version.pk):
            return None
        if predictor is None and not from_last_known and not _still_active(version):
            # Another promotion committed while this reload waited for the lock (and may already be
            # installed): never go back to an older version; the next sync brings the active one.
            return current
        try:
            if predictor is None:
                predictor = _load(version, force_download=force_download)
            return _install(version, predictor, from_last_known=from_last_known)
        except Exception as exc:
            _record_failure(version, exc)
            return None


def _still_active(version: ModelVersion) -> bool:
    return selectors.is_active(version=version)


def loaded_version_ids() -> dict[str, int | None]:
    """What the listener compares with the registry: an entry loaded from the last known pointer is None, so
    the first sync after the registry answers again loads that version from the registry's row."""
    return {name: None if entry.from_last_known else entry.version_id for name, entry in _models.items()}


def snapshot() -> dict[str, LoadedModel]:
    return dict(_models)


def failures() -> dict[str, LoadFailure]:
    return dict(_failures)


def clear() -> None:
    """Forget every loaded model (tests; a process that must reload from scratch)."""
    global _serving
    _models.clear()
    _failures.clear()
    _rollouts.clear()
    _candidate_failures.clear()
    rollouts.counts.clear()
    _serving = False


def preload() -> dict[str, str]:
    """Load every active version (the serving process's start-up). Returns name -> version or error."""
    results = {}
    try:
        versions, unreachable = selectors.all_active_versions(), False
    except DatabaseError as exc:  # serve the last known versions from the verified cache meanwhile
        versions, unreachable = last_known.versions(), True
        logger.warning("the registry is unreachable (%s): serving the last known versions", exc)
    for version in versions:
        name = version.model.name
        if not served_models.serves(name):
            continue
        loaded = activate(version=version, from_last_known=unreachable)
        if loaded is not None:
            results[name] = loaded.version
        else:  # failed, or another promotion committed meanwhile (the listener brings the new one)
            failure = _failures.get(name)
            results[name] = failure.error if failure else "superseded by a newer promotion"
    return results


def is_serving() -> bool:
    """Whether this process serves requests (serving.start(), or a request's load, marked it)."""
    return _serving


def mark_serving() -> None:
    global _serving
    _serving = True


def _report(*, name: str, version_id: int | None, loaded_at: Any, error: str) -> None:
    if not _serving:
        return
    try:
        worker_reports.worker_report_save(
            host=socket.gethostname(),
            pid=os.getpid(),
            model_name=name,
            version_id=version_id,
            loaded_at=loaded_at,
            last_error=error,
        )
    except Exception:  # a report must never break serving
        logger.exception("could not record the worker report for %s", name)
