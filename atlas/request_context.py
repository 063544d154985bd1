"""Per-request context: the X-Request-ID, the prediction metrics, and the request's log line.

RequestContextMiddleware runs first. It takes the client's X-Request-ID when it is a sane token (1-128
letters, digits, `.`, `_`, `-`; anything else could forge log lines) or makes one, echoes it on the
answer, and makes it available to every log record of the request (atlas.logging.RequestIdFilter). It
opens the list in which `model_cache.get` notes which model versions answered, counts the prediction
under each (inference.metrics), and, when ACCESS_LOG is set, writes one line naming the request id, the
status, the time taken, and the model and version that answered.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from inference import metrics

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("atlas_request_id", default=None)

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
access_logger = logging.getLogger("atlas.requests")


def _request_id(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        rid = _request_id(request)
        served: list[metrics.Served] = []
        rid_token = request_id.set(rid)
        served_token = metrics.served.set(served)
        meta_token = metrics.current_meta.set(request.META)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            if served:
                metrics.observe(served, status=response.status_code, seconds=elapsed)
            response["X-Request-ID"] = rid
            if settings.ATLAS_REQUEST_LOG:
                self._log(request, response, rid, served, elapsed)
            return response
        finally:
            metrics.current_meta.reset(meta_token)
            metrics.served.reset(served_token)
            request_id.reset(rid_token)

    @staticmethod
    def _log(
        request: HttpRequest, response: HttpResponseBase, rid: str, served: list[metrics.Served], elapsed: float
    ) -> None:
        model = ",".join(dict.fromkeys(name for name, _, _ in served)) or "-"
        version = ",".join(dict.fromkeys(version for _, version, _ in served)) or "-"
        access_logger.info(
            "%s %s %d %.1fms request_id=%s model=%s version=%s",
            request.method,
            request.path,
            response.status_code,
            elapsed * 1000,
            rid,
            model,
            version,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 3),
                "model": model,
                "version": version,
            },
        )
