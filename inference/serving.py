"""Start and stop serving in a worker process: preload the active versions, keep them current.

Serving starts however the process was started:
- gunicorn's post_worker_init hook (atlas/gunicorn.conf.py, also picked up by a plain
  `gunicorn atlas.wsgi` run from the repository root through ./gunicorn.conf.py) preloads before the
  worker takes its first request;
- otherwise (no config file, `manage.py runserver`, any other WSGI server) `ServingMiddleware` calls
  `ensure_started()` on the first request: the listener starts and loads the active versions off the
  request.

`ensure_started()` is idempotent and fork-safe: it records the pid that started serving, so a process
forked after the listener started (whose thread did not survive the fork) starts anew. It never raises:
a worker that cannot reach the database or load a model logs it, reports it, serves what it loaded, and
its listener keeps trying. Never called at import time, never in `migrate` or `shell`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.urls import get_resolver

from models_registry import artifact_cache
from models_registry.compat import bootstrap
from models_registry.listener import ActivationListener
from models_registry.services import worker_reports

from . import metrics, model_cache, prediction_log, rollout_sync, served_models

logger = logging.getLogger(__name__)

STOP_MARGIN_SECONDS = 5.0  # a sync in flight when stop() is called: its queries and a model load's start

_listener: ActivationListener | None = None
_started_pid: int | None = None
_start_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A thread does not survive fork: the child has no running listener and must start its own."""
    global _listener, _started_pid, _start_lock
    _listener = None
    _started_pid = None
    _start_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def is_started() -> bool:
    return _started_pid == os.getpid() and _listener is not None and _listener.is_alive()


def ensure_started(*, preload: bool = False) -> None:
    """Start serving in this process unless it already does. Never raises.

    preload=True (the gunicorn hook) loads every active version before returning; otherwise (the first
    request) the listener's first sync loads them in its own thread, so the request is not held up.
    """
    if _started_pid == os.getpid():
        return
    with _start_lock:
        if _started_pid == os.getpid():
            return
        _start(preload=preload)


def start() -> None:
    """The gunicorn hook's entry point (kept for callers of the old name)."""
    ensure_started(preload=True)


def _start(*, preload: bool) -> None:
    global _listener, _started_pid
    _started_pid = os.getpid()
    model_cache.mark_serving()
    try:
        # Import every view now, so the first request does not pay for it.
        get_resolver().url_patterns  # noqa: B018 (the access itself imports every view)
    except Exception:
        logger.exception("could not import the views at worker start")
    _clean_up_after_the_dead()
    try:
        bootstrap.adopt_at_start()  # HF_MODEL_REPO + DEFAULT_MODEL on an empty registry; never raises
    except Exception:
        logger.exception("the Hub bootstrap failed")
    try:
        if unknown := served_models.unknown_names():
            logger.warning("ATLAS_SERVE_MODELS names no registered model: %s", ", ".join(unknown))
    except Exception:
        logger.exception("could not check ATLAS_SERVE_MODELS against the registry")
    if preload:
        try:
            for name, outcome in model_cache.preload().items():
                logger.info("preloaded %s: %s", name, outcome)
        except Exception:  # e.g. the database is unreachable: the listener keeps trying
            logger.exception("preloading the active versions failed; serving what loaded, retrying in the background")
    try:
        _listener = ActivationListener(
            loaded=model_cache.loaded_version_ids, serves=served_models.serves, on_tick=_tick, on_wake=metrics.flush
        )
        _listener.start()
    except Exception:
        logger.exception("could not start the activation listener")
        _started_pid = None  # the next request tries again


def _tick() -> None:
    """The listener's work after each sync: this worker's answers for feedback, then its rollouts. (Its
    metrics are flushed after every sync, even one the registry did not answer: `on_wake`.)"""
    prediction_log.flush()
    rollout_sync.tick()


def _clean_up_after_the_dead() -> None:
    """What dead workers left: stale `.part` downloads and lock files in the artifact cache, and the
    reports of workers that are gone. Never raises."""
    try:
        swept = artifact_cache.sweep_leftovers()
        if swept:
            logger.info("swept %d leftover file(s) from the artifact cache", len(swept))
    except Exception:
        logger.exception("could not sweep the artifact cache's leftovers")
    try:
        worker_reports.worker_reports_prune(host=socket.gethostname())
    except Exception:
        logger.exception("could not delete the reports of dead workers")


def stop() -> None:
    """Stop serving in this process: the listener ends (waited for, within a poll interval and a margin,
    so nothing it does races what the process does next), its last answers are recorded for feedback and
    its reports are removed."""
    global _listener, _started_pid
    if _listener is not None:
        _listener.stop(wait=settings.ATLAS_RELOAD_POLL_SECONDS + STOP_MARGIN_SECONDS)
        _listener = None
    _started_pid = None
    metrics.flush()
    prediction_log.flush()
    try:
        worker_reports.worker_reports_delete(host=socket.gethostname(), pid=os.getpid())
    except Exception:
        logger.exception("could not remove this worker's reports")
