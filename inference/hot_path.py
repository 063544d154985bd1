"""POST /predict answered at the WSGI layer, before Django's handler and middleware.

A digit prediction is about 15 us of NumPy; through Django's request cycle and its thirteen middleware it
was about 300 us of Python a request (docs/PERFORMANCE.md). `HotPredict` wraps the Django application
(atlas/wsgi.py) and answers a plain `POST /predict` itself, with what the request cycle would have given it:

- serving starts first (`inference.middleware.ServingMiddleware`), and the request gets its X-Request-ID,
  its metrics and its log line (`atlas.http.request_context.RequestScope`, as RequestContextMiddleware);
- the Host header is checked against ALLOWED_HOSTS (Django's own `HttpRequest.get_host()`, cached per host);
- the answer carries the same headers as Django's: they are learned from the first successful /predict of
  each kind (plain or secure) that this process answers through Django, so what the middleware adds
  (SecurityMiddleware, X-Frame-Options, Vary, ...) is copied, not restated here;
- the body is the same: `inference.api.digits.predict_answer`, which PredictView also uses.

Anything else goes to Django unchanged: another path or method, a query string, an Origin header (CORS),
a chunked or missing or oversized body, an unknown host, a plain request where SECURE_SSL_REDIRECT would
redirect, a form-encoded body (RefuseNulMiddleware reads those), and any answer other than a prediction
(400, 503, an unexpected error such as the database failing while the model is loaded: the body, already
read, is handed on). Django's request_started/request_finished signals are not sent for a hot answer; the
database is touched only when the model is not loaded yet (model_cache), and an error there goes to Django.

Non-streaming Django answers are returned as one-element lists: a server then writes the body in one call
(granian's `response_bytes`; an iterator costs it a round trip per chunk).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

from atlas.http.exceptions import unreadable_body
from atlas.http.request_context import RequestScope
from atlas.request_guard import BodyTimeout

from . import serving
from .api.digits import predict_answer

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

PATH = "/predict"
STATUS_LINES = {200: "200 OK", 408: "408 Request Timeout", 500: "500 Internal Server Error"}
NOT_LEARNED = ("content-length", "x-request-id", "set-cookie")  # per answer, or never to be replayed
MAX_HOSTS = 64
MAX_HOST_KEY = 512
HOST_KEYS = ("HTTP_X_FORWARDED_HOST", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT")


class HotPredict:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.headers: dict[bool, list[tuple[str, str]]] = {}  # secure? -> the headers Django gave a 200
        self.hosts: set[str] = set()  # the Host header values Django allowed

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return as_list(self.app(environ, start_response))
        secure = is_secure(environ)
        length = self._length(environ, secure)
        if length is None:
            return as_list(self.app(environ, start_response))
        headers = self.headers.get(secure)
        if headers is None:
            return self._through_django(environ, start_response, secure)
        if settings.ATLAS_SERVING_AUTOSTART:
            serving.ensure_started()
        scope = RequestScope(environ)
        handed_on = False
        try:
            try:
                body = environ["wsgi.input"].read(length)
            except BodyTimeout:  # the body's deadline (gunicorn): SlowBodies answers its 408
                raise
            except OSError as exc:  # the client went away mid-body
                status, payload = 408, orjson.dumps(unreadable_body(exc))  # type: ignore[arg-type]
            else:
                try:
                    answer = predict_answer(environ.get("CONTENT_TYPE", ""), body) if len(body) == length else None
                except Exception:  # e.g. the database, when the model must be loaded: Django answers (and logs) it
                    logger.debug("the hot path hands an error to Django", exc_info=True)
                    answer = None
                if answer is None:  # a 400, 503 or error: Django and DRF answer it, from the body read here
                    environ["wsgi.input"] = io.BytesIO(body)
                    scope.close()
                    handed_on = True
                    return as_list(self.app(environ, start_response))
                status, payload = answer
            scope.finish(method="POST", path=PATH, status=status)
            start_response(
                STATUS_LINES[status],
                [*headers, ("Content-Length", str(len(payload))), ("X-Request-ID", scope.rid)],
            )
            return [payload]
        finally:
            if not handed_on:
                scope.close()

    def _length(self, environ: Environ, secure: bool) -> int | None:
        """The body's length when this request may be answered here; None when Django must answer it."""
        if environ.get("QUERY_STRING") or "HTTP_ORIGIN" in environ or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        if settings.SECURE_SSL_REDIRECT and not secure or settings.DISALLOWED_USER_AGENTS:
            return None
        if environ.get("CONTENT_TYPE", "").lower().startswith("application/x-www-form-urlencoded"):
            return None
        raw = environ.get("CONTENT_LENGTH") or ""
        if not (raw.isascii() and raw.isdigit()):
            return None
        length = int(raw)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length == 0 or (limit is not None and length > limit):
            return None
        return length if self._host_allowed(environ) else None

    def _host_allowed(self, environ: Environ) -> bool:
        """Django's own check (HttpRequest.get_host()); allowed hosts are remembered, refused ones are not."""
        keys = HOST_KEYS if settings.USE_X_FORWARDED_HOST else HOST_KEYS[1:]
        key = "\0".join(environ.get(k, "") for k in keys)
        if key in self.hosts:
            return True
        request = HttpRequest()
        request.META = {k: environ[k] for k in keys if k in environ}
        try:
            request.get_host()
        except DisallowedHost:
            return False
        if len(key) <= MAX_HOST_KEY:
            if len(self.hosts) >= MAX_HOSTS:
                self.hosts.clear()
            self.hosts.add(key)
        return True

    def _through_django(self, environ: Environ, start_response: StartResponse, secure: bool) -> Iterable[bytes]:
        """Django answers; a 200 teaches this wrapper the headers Django gives /predict (plain or secure)."""

        def learning_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status.startswith("200 ") and secure not in self.headers:
                names = {name.lower() for name, _ in headers}
                if "set-cookie" not in names and "content-type" in names:
                    self.headers[secure] = [(n, v) for n, v in headers if n.lower() not in NOT_LEARNED]
            return start_response(status, headers, exc_info)

        return as_list(self.app(environ, learning_start_response))


def is_secure(environ: Environ) -> bool:
    """HttpRequest.is_secure() on a WSGI environ (SECURE_PROXY_SSL_HEADER first, then the URL scheme)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return bool(value.split(",", 1)[0].strip() == secure_value)
    return environ.get("wsgi.url_scheme") == "https"


def as_list(result: Iterable[bytes]) -> Iterable[bytes]:
    """A non-streaming Django answer as a one-element list (closed first: request_finished is sent)."""
    if isinstance(result, HttpResponseBase) and not result.streaming:
        try:
            return [result.content]  # type: ignore[attr-defined]
        finally:
            result.close()
    return result
