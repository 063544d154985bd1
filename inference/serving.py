"""Start and stop serving in a worker process: preload the active versions, keep them current.

Called from gunicorn's worker hooks (atlas/gunicorn.conf.py), never at import time, never in
`migrate` or `shell`.
"""

from __future__ import annotations

import logging
import os
import socket

from models_registry import worker_reports
from models_registry.broadcast import ActivationListener

from . import model_cache

logger = logging.getLogger(__name__)

_listener: ActivationListener | None = None


def start() -> None:
    global _listener
    if _listener is not None:
        return
    model_cache.mark_serving()
    for name, outcome in model_cache.preload().items():
        logger.info("preloaded %s: %s", name, outcome)
    _listener = ActivationListener(loaded=model_cache.loaded_version_ids)
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
