"""Per-request context: the X-Request-ID, what answered the request, and the request's log line.

RequestContextMiddleware runs first. It takes the client's X-Request-ID when it is a sane token (1-128
letters, digits, `.`, `_`, `-`; anything else could forge log lines) or makes one, echoes it on the
answer, and makes it available to every log record of the request (atlas.log_format.RequestIdFilter). It
opens the list in which the app that answers notes which model versions answered (inference's
`model_cache.get`), hands that list to the `observers` when the request ends (inference counts its metrics
there), and, when ACCESS_LOG is set, writes one line naming the request id, the status, the time taken, and
the model and version that answered.
"""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import logging
import os
import re
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# What answered a request: (model, version, (rollout id, role) or None).
Served = tuple[str, str, "tuple[int, str] | None"]


class Observer(Protocol):
    def __call__(self, served: list[Served], /, *, status: int, seconds: float) -> None: ...


# Called when a request that something answered ends. An app adds its own at start-up (inference counts its
# metrics, in InferenceConfig.ready): this module imports no app.
observers: list[Observer] = []

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
access_logger = logging.getLogger("atlas.requests")


# A new id has the shape of uuid.uuid4().hex: 128 bits with the version (4) and variant (RFC 4122) bits set as
# uuid.UUID(version=4) sets them. The bits are keyed BLAKE2b of the pid and a counter: unique in this process
# (the counter) and across processes (each draws its own key, a forked child again; and the pid differs even
# for a child forked without Python's at-fork hooks), unguessable without the key (a client
# cannot name another's answer in feedback), and made without a system call. os.urandom releases the GIL
# around getrandom(); on a worker with 32 threads that hand-off cost more than the id
# (bench/predict_breakdown.py, docs/PERFORMANCE.md).
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)

_id_hash: hashlib.blake2b  # keyed with this process's own key
_id_counter: Iterator[int]


def _new_id_key() -> None:
    global _id_hash, _id_counter
    _id_hash = hashlib.blake2b(key=os.urandom(32), digest_size=16)
    _id_counter = itertools.count()


_new_id_key()
os.register_at_fork(after_in_child=_new_id_key)


def new_request_id() -> str:
    keyed = _id_hash.copy()
    keyed.update(struct.pack("<QQ", os.getpid(), next(_id_counter)))
    return f"{int.from_bytes(keyed.digest()) & _UUID4_CLEAR | _UUID4_SET:032x}"


def _request_id(meta: dict[str, Any]) -> str:
    given = meta.get("HTTP_X_REQUEST_ID")
    return given if given and REQUEST_ID.fullmatch(given) else new_request_id()


class RequestScope:
    """One request's context: its id, the list of model versions that answered it, its META (the headers, for
    a canary's route key) and its start time, the `current` one while the request is handled.
    RequestContextMiddleware opens one per request; so does inference.hot_path, which answers POST
    /predict before Django. `close()` must follow, whatever happened."""

    __slots__ = ("rid", "served", "meta", "started", "_token")

    def __init__(self, meta: dict[str, Any]) -> None:
        self.rid = _request_id(meta)
        self.served: list[Served] = []
        self.meta = meta
        self._token = current.set(self)
        self.started = time.perf_counter()

    def finish(self, *, method: str, path: str, status: int, log: bool | None = None) -> None:
        """Tell the observers what answered, and write the request's log line (log: ATLAS_REQUEST_LOG, when
        the caller has read it already)."""
        elapsed = time.perf_counter() - self.started
        if self.served:
            for observe in observers:
                observe(self.served, status=status, seconds=elapsed)
        if settings.ATLAS_REQUEST_LOG if log is None else log:
            _log(method, path, status, elapsed, self.rid, self.served)

    def close(self) -> None:
        current.reset(self._token)


# The request being handled in this thread (or task); None outside a request. One variable for the three
# things others read (one set and one reset a request, on /predict's hot path).
current: contextvars.ContextVar[RequestScope | None] = contextvars.ContextVar("atlas_request", default=None)


def current_request_id() -> str | None:
    scope = current.get()
    return scope.rid if scope is not None else None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        scope = RequestScope(request.META)
        try:
            response = self.get_response(request)
            scope.finish(method=request.method or "", path=request.path, status=response.status_code)
            response["X-Request-ID"] = scope.rid
            return response
        finally:
            scope.close()


def _log(method: str, path: str, status: int, elapsed: float, rid: str, served: list[Served]) -> None:
    model = ",".join(dict.fromkeys(name for name, _, _ in served)) or "-"
    version = ",".join(dict.fromkeys(version for _, version, _ in served)) or "-"
    access_logger.info(
        "%s %s %d %.1fms request_id=%s model=%s version=%s",
        method,
        path,
        status,
        elapsed * 1000,
        rid,
        model,
        version,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
            "model": model,
            "version": version,
        },
    )
