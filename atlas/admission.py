"""Back-pressure for the slow predictions (detection, audio): refuse fast instead of queueing.

Each worker process runs at most settings.ATLAS_SLOW_CONCURRENCY slow model calls at once. A request
whose call finds every slot taken waits at most settings.ATLAS_SLOW_WAIT_SECONDS for one; if none frees in
time it is answered 503 with Retry-After at once (`Overloaded`, rendered by DRF's exception handler) and its
model never runs, so an overloaded worker never works for clients that have given up. The slot is taken
around the model call only, after the body is read and decoded: a slow upload never holds one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException

_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


class Overloaded(APIException):
    """No slot freed in time: 503 JSON `{"detail", "error", "model"}` with Retry-After (DRF sets it from `wait`)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self, model: str) -> None:
        wait = settings.ATLAS_SLOW_WAIT_SECONDS
        super().__init__(
            {
                "detail": f"Overloaded: this worker runs {settings.ATLAS_SLOW_CONCURRENCY} slow predictions at once "
                f"(ATLAS_SLOW_CONCURRENCY) and none finished within {wait:g} s; {model} did not run. Retry later.",
                "error": "overloaded",
                "model": model,
            }
        )
        self.wait = max(1, math.ceil(wait))


def _semaphore() -> threading.BoundedSemaphore:
    """This process's slots, made again if the setting changed (tests)."""
    global _slots
    size = max(1, settings.ATLAS_SLOW_CONCURRENCY)
    with _lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


@contextmanager
def slot(model: str) -> Iterator[None]:
    """Hold one of this worker's slow slots for the block; Overloaded if none frees within the wait."""
    semaphore = _semaphore()
    if not semaphore.acquire(timeout=max(0.0, settings.ATLAS_SLOW_WAIT_SECONDS)):
        raise Overloaded(model)
    try:
        yield
    finally:
        semaphore.release()
