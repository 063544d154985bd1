"""Which version gave which answer to a request id, for feedback by request id, kept off the response path.

The endpoints feedback applies to (threat classify, audio classify, detect, SAIT verify) call `remember`
with the model that answered and its answer: one append to this worker's bounded buffer, no database.
The worker's listener writes the buffer to the registry every tick (`flush`, through
services.prediction_records_save; ATLAS_RELOAD_POLL_SECONDS); the feedback endpoints flush their own
worker's buffer first. So an answer is known to feedback on every worker within a tick. Limits: an answer
in the buffer of a worker that dies, or beyond BUFFER answers not yet written (a database down for a
while), is lost; a request id a client reuses names its newest answer.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from django.utils import timezone

from atlas.http.request_context import current_request_id
from models_registry import services

from .model_cache import LoadedModel

logger = logging.getLogger(__name__)

BUFFER = 10_000  # answers per worker waiting to be written; the oldest are dropped beyond

_pending: deque[services.Answer] = deque(maxlen=BUFFER)
_flush_lock = threading.Lock()


def remember(loaded: LoadedModel, predicted: str, confidence: float | None = None) -> None:
    """Note that `loaded` answered the current request with `predicted` (nothing outside a request)."""
    rid = current_request_id()
    if rid is not None:
        _pending.append(services.Answer(rid, loaded.version_id, predicted, confidence, timezone.now()))


def flush() -> int:
    """Write this worker's buffered answers to the registry; returns how many. Never raises: a failure
    is logged and that batch is lost (bounded, as the buffer is)."""
    with _flush_lock:
        answers = []
        while _pending:
            answers.append(_pending.popleft())
        if not answers:
            return 0
        try:
            return services.prediction_records_save(answers=answers)
        except Exception:
            logger.exception("could not record %d answers for feedback", len(answers))
            return 0
