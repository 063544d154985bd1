"""POST /predict answered at the WSGI layer, before Django's handler and middleware.

A digit prediction is about 15 us of NumPy; through Django's request cycle and its thirteen middleware it
was about 300 us of Python a request (docs/PERFORMANCE.md). `HotPredict` wraps the Django application
(atlas/wsgi.py) and answers a plain `POST /predict` itself, with what the request cycle would have given it:

- serving starts first (`inference.middleware.ServingMiddleware`), and the request gets its X-Request-ID,
  its metrics and its log line (`atlas.http.request_context.RequestScope`, as RequestContextMiddleware);
- the Host header is checked against ALLOWED_HOSTS (Django's own `HttpRequest.get_host()`, cached per host);
- the answer carries the same headers as Django's: `static_headers`, computed from the settings when the
  worker builds this wrapper (atlas/wsgi.py), states what the reviewed middleware (REVIEWED_MIDDLEWARE) adds
  to a /predict answer; tests/inference/test_hot_path.py checks them against Django's own answer, and fails
  when settings.MIDDLEWARE changes, so that a new middleware is reviewed for the hot path first;
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
from django.core.signals import setting_changed
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
# The middleware this module was reviewed against: what each does to a plain POST /predict is done here or
# stated in static_headers. A change to settings.MIDDLEWARE fails tests/inference/test_hot_path.py until the
# hot path is reviewed again and this list updated.
REVIEWED_MIDDLEWARE = (
    "inference.middleware.ServingMiddleware",  # serving.ensure_started()
    "atlas.http.request_context.RequestContextMiddleware",  # RequestScope: X-Request-ID, metrics, log line
    "django.middleware.security.SecurityMiddleware",  # static_headers; SECURE_SSL_REDIRECT goes to Django
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files only
    "atlas.http.middleware.LargeResponseGZipMiddleware",  # a /predict answer is under its 1,000 bytes
    "corsheaders.middleware.CorsMiddleware",  # Vary: origin; a request with an Origin goes to Django
    "atlas.request_guard.RefuseNulMiddleware",  # form bodies go to Django; JSON NULs fail the parse (400)
    "django.contrib.sessions.middleware.SessionMiddleware",  # the view never touches the session
    "atlas.request_guard.BodyPermissionMiddleware",  # only views with body_permission (the admin's upload)
    "django.middleware.common.CommonMiddleware",  # Content-Length; DISALLOWED_USER_AGENTS goes to Django
    "django.middleware.csrf.CsrfViewMiddleware",  # the view is csrf-exempt (DRF)
    "django.contrib.auth.middleware.AuthenticationMiddleware",  # lazy user, never read
    "django.contrib.messages.middleware.MessageMiddleware",  # no messages
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # static_headers
)
MAX_HOSTS = 64
MAX_HOST_KEY = 512
HOST_KEYS = ("HTTP_X_FORWARDED_HOST", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT")


def static_headers(*, secure: bool) -> list[tuple[str, str]]:
    """The headers Django's response and REVIEWED_MIDDLEWARE give a successful /predict, but Content-Length
    and X-Request-ID (per answer), from the settings."""
    headers = [("Content-Type", "application/json"), ("Vary", "origin")]
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        headers.append(("Strict-Transport-Security", hsts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if policy := settings.SECURE_REFERRER_POLICY:
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers


class HotPredict:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.configure()
        # override_settings (tests) sends setting_changed: the values read here follow it
        setting_changed.connect(self.configure)

    def configure(self, **_: object) -> None:
        """Read the settings the hot path needs once, when the worker builds the application: reading
        `settings.X` costs about half a microsecond each (LazySettings' __getattribute__), several a request."""
        # secure? -> the headers of a 200
        self.headers = {secure: static_headers(secure=secure) for secure in (False, True)}
        self.hosts: set[str] = set()  # the Host header values Django allowed
        self.autostart: bool = settings.ATLAS_SERVING_AUTOSTART
        self.request_log: bool = settings.ATLAS_REQUEST_LOG
        self.proxy_ssl_header: tuple[str, str] | None = settings.SECURE_PROXY_SSL_HEADER
        # SECURE_SSL_REDIRECT and DISALLOWED_USER_AGENTS: Django answers (a redirect or a refusal may be due)
        self.to_django_unless_secure: bool = settings.SECURE_SSL_REDIRECT
        self.to_django: bool = bool(settings.DISALLOWED_USER_AGENTS)
        self.body_limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        self.host_keys = HOST_KEYS if settings.USE_X_FORWARDED_HOST else HOST_KEYS[1:]

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return as_list(self.app(environ, start_response))
        secure = is_secure(environ, self.proxy_ssl_header)
        length = self._length(environ, secure)
        if length is None:
            return as_list(self.app(environ, start_response))
        headers = self.headers[secure]
        if self.autostart:
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
            scope.finish(method="POST", path=PATH, status=status, log=self.request_log)
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
        if self.to_django or self.to_django_unless_secure and not secure:
            return None
        if environ.get("CONTENT_TYPE", "").lower().startswith("application/x-www-form-urlencoded"):
            return None
        raw = environ.get("CONTENT_LENGTH") or ""
        if not (raw.isascii() and raw.isdigit()):
            return None
        length = int(raw)
        limit = self.body_limit
        if length == 0 or (limit is not None and length > limit):
            return None
        return length if self._host_allowed(environ) else None

    def _host_allowed(self, environ: Environ) -> bool:
        """Django's own check (HttpRequest.get_host()); allowed hosts are remembered, refused ones are not."""
        keys = self.host_keys
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


def is_secure(environ: Environ, proxy_ssl_header: tuple[str, str] | None) -> bool:
    """HttpRequest.is_secure() on a WSGI environ (SECURE_PROXY_SSL_HEADER first, then the URL scheme)."""
    if proxy_ssl_header:
        header, secure_value = proxy_ssl_header
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
