"""Guards in front of every view, in one place each:

- `RefuseNulMiddleware`: a NUL character (`%00`) in the path, the query string or a form body answers
  400 JSON. No field of Atlas accepts one, and PostgreSQL refuses them in text (a DataError, a 500).
- `BodyLimits`: a WSGI wrapper, the one place that decides how large a request body may be. Each route's
  limit is its view's `body_limit_setting` (a setting in MB; ATLAS_MAX_REQUEST_MB where a view names
  none). A declared Content-Length over it answers 413 JSON before a byte of the body is read; a
  `Transfer-Encoding: chunked` body (no Content-Length, so Django would read it as empty) is read as it
  arrives up to that limit, spooled to disk past FILE_UPLOAD_MAX_MEMORY_SIZE, and handed to Django with
  its length; one byte over: 413 JSON.
- `BodyPermissionMiddleware`: a view that takes bodies larger than the default limit from a logged-in user
  only (the admin's add-version form) names the permission as `body_permission`; a request from anyone
  without it is refused 403 JSON from its headers and session, before Django's CSRF check reads the body.
- `SlowBodies`: a WSGI wrapper that gives a request body a deadline under gunicorn: each read waits at
  most ATLAS_BODY_IDLE_SECONDS for data, and the whole body must arrive within that plus its length at
  ATLAS_BODY_MIN_KBPS. A client that declares a body and stops sending (or trickles it) gets a 408 JSON
  and frees its worker, instead of holding a sync worker until gunicorn's timeout kills it.
- `install_gunicorn_json_errors()`: the errors gunicorn answers itself (414 URI too long, 431, 400 on
  a malformed request line) are JSON, not gunicorn's HTML page.
"""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.urls import Resolver404, resolve

NUL_DETAIL = "The request holds a NUL character (%00); no path, parameter or field accepts one."
FORM_TYPES = ("application/x-www-form-urlencoded",)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES and request.method not in ("GET", "HEAD", "OPTIONS"):
        return b"\x00" in unquote_to_bytes(request.body)
    return False


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            return JsonResponse({"detail": NUL_DETAIL, "error": "nul_character"}, status=400)
        return self.get_response(request)


# --- who may send a large body ---------------------------------------------------------------------------


def body_permission(view: Any) -> str | None:
    """The permission a user needs to send `view` a body (its `body_permission`, or its class's), if any."""
    for owner in (view, getattr(view, "cls", None), getattr(view, "view_class", None)):
        if permission := getattr(owner, "body_permission", None):
            return str(permission)
    return None


class BodyPermissionMiddleware:
    """Between SessionMiddleware and CsrfViewMiddleware: the CSRF check reads a form's body (for its token)
    before the view checks who is logged in, so a view's `body_permission` is checked here first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        permission = body_permission(view)
        declared = request.META.get("CONTENT_LENGTH") not in (None, "", "0")
        if permission is None or not (declared or "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "")):
            return None
        from django.contrib.auth import get_user  # auth's models need the app registry; this runs per request

        user = get_user(request)
        if user.is_active and user.has_perm(permission):
            return None
        detail = f"Only a logged-in user with the permission {permission} may send this body; log in first."
        response = JsonResponse({"detail": detail, "error": "not_allowed"}, status=403)
        if not request.META.get("SERVER_SOFTWARE", "").startswith("WSGIServer/"):  # runserver refuses hop-by-hop
            response["Connection"] = "close"  # the body is never read: the server need not drain it
        return response


# --- chunked request bodies --------------------------------------------------------------------------

READ_BLOCK = 64 * 1024
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


def chunked_body_limit(content_type: str) -> int:
    """The most bytes any route reads of a chunked body: the deadline of a chunked body under gunicorn."""
    limit = max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.ATLAS_MAX_UPLOAD_MB * 1024 * 1024)
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        limit = max(limit, settings.ATLAS_MAX_MODEL_UPLOAD_MB * 1024 * 1024)
    return limit


def _json_response(start_response: StartResponse, status: str, body: dict) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), ("Connection", "close")]
    )
    return [payload]


DEFAULT_BODY_LIMIT = "ATLAS_MAX_REQUEST_MB"


def body_limit_setting(view: Any) -> str:
    """The setting (in MB) that bounds a request body to `view` (a function, an admin view, a class-based
    view or a view instance): its `body_limit_setting`, or its class's; ATLAS_MAX_REQUEST_MB by default."""
    for owner in (view, getattr(view, "cls", None), getattr(view, "view_class", None)):
        if setting := getattr(owner, "body_limit_setting", None):
            return str(setting)
    return DEFAULT_BODY_LIMIT


def route_body_limit(path: str) -> tuple[int, str]:
    """(bytes, setting name) of the largest body the view at `path` takes."""
    try:
        view = resolve(path).func
    except Resolver404:
        setting = DEFAULT_BODY_LIMIT
    else:
        setting = body_limit_setting(view)
    return int(getattr(settings, setting) * 1024 * 1024), setting


def _too_large(environ: dict, start_response: StartResponse, detail: str) -> list[bytes]:
    if environ.get("SERVER_SOFTWARE", "").startswith("WSGIServer/"):
        # runserver (wsgiref) refuses hop-by-hop headers such as Connection; it reads the unread body itself
        payload = json.dumps({"detail": detail, "error": "too_large"}).encode()
        start_response("413 Request Entity Too Large", [("Content-Type", "application/json")])
        return [payload]
    return _json_response(start_response, "413 Request Entity Too Large", {"detail": detail, "error": "too_large"})


class BodyLimits:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH")
        raw = environ.get("CONTENT_LENGTH") or "0"
        length = int(raw) if raw.isascii() and raw.isdigit() else 0  # Django answers a malformed one
        if not chunked and length == 0:
            return self.app(environ, start_response)
        limit, setting = route_body_limit(environ.get("PATH_INFO") or "/")
        megabytes = f"{getattr(settings, setting)} MB ({setting})"
        if length > limit:  # from the headers: not a byte of the body is read
            detail = f"The request body is {length:,} bytes; the limit is {megabytes}."
            return _too_large(environ, start_response, detail)
        if not chunked:
            return self.app(environ, start_response)
        # Not a `with`: the file outlives this call, as the body Django reads.
        body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
        stream, size = environ["wsgi.input"], 0
        while block := stream.read(min(READ_BLOCK, limit + 1 - size)):
            size += len(block)
            if size > limit:
                body.close()
                return _too_large(environ, start_response, f"The chunked request body is over {megabytes}.")
            body.write(block)
        body.seek(0)  # an unnamed temporary file: freed with the request's environ
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = body, str(size)
        return self.app(environ, start_response)


# --- slow request bodies ---------------------------------------------------------------------------


class BodyTimeout(UnreadablePostError):
    """The body stopped arriving (or arrived too slowly); atlas.http.exceptions answers it 408."""


class DeadlineInput:
    """`wsgi.input` whose reads give up when the client stops sending: at most `idle` seconds per read, and
    nothing later than `allowed` seconds after the first read."""

    def __init__(self, stream: Any, sock: socket.socket, *, idle: float, allowed: float) -> None:
        self.stream, self.sock, self.idle, self.allowed = stream, sock, idle, allowed
        self.deadline: float | None = None  # set at the first read: time the server spent before is not the client's
        self.failure: str | None = None  # why the body was given up on, once it was

    def _timed(self, method: str, *args: Any) -> Any:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.allowed
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._give_up("The request body did not arrive in time.")
        self.sock.settimeout(min(self.idle, remaining))
        try:
            return getattr(self.stream, method)(*args)
        except TimeoutError:  # socket.timeout
            raise self._give_up(f"The request body stopped arriving (nothing for {self.idle:g} s).") from None

    def _give_up(self, message: str) -> BodyTimeout:
        # Stop reading this client: gunicorn's graceful close would otherwise wait up to 2 s more for it.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RD)
        self.failure = message
        return BodyTimeout(message)

    def read(self, *args: Any) -> bytes:
        return self._timed("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._timed("readline", *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._timed("readlines", *args)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


def _timed_out(start_response: StartResponse, detail: str) -> list[bytes]:
    return _json_response(start_response, "408 Request Timeout", {"detail": detail, "error": "body_timeout"})


class SlowBodies:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        if sock is None:  # not gunicorn (granian reads bodies in Rust): no socket to hold to a deadline
            return self.app(environ, start_response)
        idle = settings.ATLAS_BODY_IDLE_SECONDS
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if sock is None or idle <= 0 or not (length > 0 or chunked):
            return self.app(environ, start_response)
        expected = length if length > 0 else chunked_body_limit(environ.get("CONTENT_TYPE", ""))
        rate = settings.ATLAS_BODY_MIN_KBPS * 1024
        allowed = idle + expected / rate if rate > 0 else float("inf")  # 0: no overall limit, the idle one only
        body = environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], sock, idle=idle, allowed=allowed)
        replaced = False

        def start_unless_given_up(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Code that swallows an unreadable body (Django's CSRF check answers 403, a form sees no fields)
            # answers about a body that never came: the client gets the 408 instead.
            nonlocal replaced
            if body.failure is not None:
                replaced = True
                return lambda data: None
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, start_unless_given_up)
            if not replaced:
                return result
            if hasattr(result, "close"):
                result.close()
            return _timed_out(start_response, body.failure or "")
        except BodyTimeout as exc:  # read before Django (a chunked body): answered here
            return _timed_out(start_response, str(exc))
        finally:
            with contextlib.suppress(OSError):  # a closed socket
                sock.settimeout(None)


# --- gunicorn's own error pages ----------------------------------------------------------------------


def install_gunicorn_json_errors() -> None:
    """Make gunicorn answer its protocol errors (414, 431, 400) as JSON `{"detail": ...}`."""
    try:
        from gunicorn import util
    except ImportError:  # not served by gunicorn
        return
    if getattr(util.write_error, "atlas_json", False):
        return

    def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
        payload = json.dumps({"detail": mesg or reason}).encode()
        head = (
            f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        util.write_nonblock(sock, head.encode("latin1") + payload)

    write_error.atlas_json = True  # type: ignore[attr-defined]
    util.write_error = write_error
