"""Start and stop serving in a worker process: preload the active versions, keep them current.

Called from gunicorn's worker hooks (atlas/gunicorn.conf.py), never at import time, never in
`migrate` or `shell`.
"""

from __future__ import annotations

import logging
import os
import socket

from django.urls import get_resolver

from models_registry import bootstrap, worker_reports
from models_registry.broadcast import ActivationListener

from . import model_cache, rollout_sync

logger = logging.getLogger(__name__)

_listener: ActivationListener | None = None


def start() -> None:
    global _listener
    if _listener is not None:
        return
    model_cache.mark_serving()
    # Import every view now (scipy alone is ~0.6 s), so the first request does not pay for it.
    get_resolver().url_patterns  # noqa: B018 (the access itself imports every view)
    bootstrap.adopt_at_start()  # HF_MODEL_REPO + DEFAULT_MODEL on an empty registry; never raises
    for name, outcome in model_cache.preload().items():
        logger.info("preloaded %s: %s", name, outcome)
    _listener = ActivationListener(loaded=model_cache.loaded_version_ids, on_tick=rollout_sync.tick)
    _listener.start()


def stop() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None
    try:
        worker_reports.worker_reports_delete(host=socket.gethostname(), pid=os.getpid())
    except Exception:
        logger.exception("could not remove this worker's reports")
