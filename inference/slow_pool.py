"""The slow pool: the requests that run a slow model (a detection, an audio classification: 30-300 ms of
CPU) are answered by a separate worker process at low CPU priority, so that they never hold the GIL or the
CPU that a fast model's requests (digits, threat rules: well under a millisecond) need.

`scripts/serve` starts it under granian, the default (ATLAS_SLOW_POOL_WORKERS=1; 0 turns it off): a second
granian of that many workers, on a private Unix socket, with ATLAS_SLOW_POOL_MEMBER=1. A member's request
threads lower themselves on their first request to nice ATLAS_SLOW_POOL_NICE (19) and Linux's SCHED_IDLE
class (ATLAS_SLOW_POOL_IDLE, on: they get the CPU no other thread wants, and any waking thread preempts
them), and the detection's threads they start inherit both; its start, its listener and granian's own
thread keep normal priority, so that a promotion reaches the pool as fast as the web workers.
The web workers get the socket in ATLAS_SLOW_POOL_SOCKET. The pool's workers are ordinary Atlas workers:
they preload every active version, follow promotions and rollouts through their own listener, write their
worker reports and metrics, log each request and answer it through the whole Django stack. The web workers
leave the slow runtimes' models to them (inference/served_models.py) and only pass the requests through,
before Django, as a reverse proxy would:

- which requests: those whose view says `slow_pool = True` (detect, audio classify, analyze/media, SAIT
  verify), whatever their method;
- the body is read first (up to the size Django would accept; a larger one is left to Django, which refuses
  it), so that the request can still be answered here if the pool cannot;
- the client's address, scheme and server name travel in X-Atlas-Pool-* headers, which a member restores
  (and which a client's own are dropped on the way);
- the pool's answer is returned as it came, hop-by-hop headers aside.

The pool is an accelerator, never a dependency. A pool that does not listen (no socket file, a refused
connection, a full accept backlog, a new connection dropped) is awaited for ATLAS_SLOW_POOL_WAIT seconds (30)
from the first refusal: it is starting (the web workers listen seconds before it does) or scripts/serve is
restarting it, and a request waits for it rather than load torch into a web worker. A request the pool dropped
after it was sent whole is sent once more at most (the pool may have run it, as the fallback would run it
again). Past the wait, or dropped twice, a web worker answers the request itself (loading the model the first
time, then running it on its in-process slow lane); later requests then do not wait until the pool listens
again. Any HTTP answer of the pool, a 5xx included, is returned as it came. A pool that stays silent for
ATLAS_SLOW_POOL_TIMEOUT seconds (on any one read) is a 504. /readyz says whether the pool is reachable and
awaited, and atlas_slow_pool_fallbacks_total counts the requests answered here instead.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import Resolver404, resolve

from atlas.request_guard import READ_BLOCK, chunked_body_limit

from . import slow_lane
from .metrics import SLOW_POOL_FALLBACKS

logger = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
CONNECT_POLL_S = 0.05  # how often a request waiting for a pool that does not listen tries again
PRIVATE_PREFIX = "HTTP_X_ATLAS_POOL_"  # the headers a member trusts: set by the web worker, never by a client
READINESS_TIMEOUT = 0.3  # seconds a /readyz waits on each step of asking the pool (its threads are niced)
CONNECT_ERRORS = (FileNotFoundError, ConnectionRefusedError, ConnectionResetError, BrokenPipeError)


@lru_cache(maxsize=1024)
def routed(path: str) -> bool:
    """Whether the view at `path` runs a slow model (its class says `slow_pool = True`)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    view = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    return bool(getattr(view, "slow_pool", False))


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _Outage:
    """Per process: since when the pool has not listened (None: it took the last connection). While that is
    under ATLAS_SLOW_POOL_WAIT seconds the pool is awaited: it is starting (a replica's web workers listen
    seconds before it does) or being restarted, and a request waits for it rather than load the model here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None

    def listened(self) -> None:
        self.since = None

    def refused(self) -> float:
        """Record that a request found the pool not listening; the monotonic time until which it is awaited.
        (/readyz only asks `awaited`: a probe refused at a replica's start, in a worker that then never
        reaches the pool, would otherwise leave a stale outage that a later restart of the pool inherits.)"""
        with self._lock:
            if self.since is None:
                self.since = time.monotonic()
            return self.since + settings.ATLAS_SLOW_POOL_WAIT

    def awaited(self) -> bool:
        """Whether a slow request sent now would wait for the pool (rather than be answered here at once)."""
        since = self.since
        wait = settings.ATLAS_SLOW_POOL_WAIT
        return wait > 0 and (since is None or time.monotonic() < since + wait)


outage = _Outage()


class PoolUnavailable(Exception):
    """The pool could not take the request or failed on it: the web worker answers it instead."""


class SlowPool:
    """WSGI wrapper: in a web worker, passes slow-model requests to the pool; in a member of the pool,
    restores what the web worker passed on about the client. Anything else goes to `app` unchanged."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.socket_path: str = settings.ATLAS_SLOW_POOL_SOCKET
        self.member: bool = settings.ATLAS_SLOW_POOL_MEMBER
        self.timeout: float = settings.ATLAS_SLOW_POOL_TIMEOUT
        self._local = threading.local()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if self.member:
            self._lower_this_thread()
            _restore(environ)
        elif self.socket_path and routed(environ.get("PATH_INFO", "")):
            return self._forward(environ, start_response)
        return self.app(environ, start_response)

    def _lower_this_thread(self) -> None:
        """A member's request threads (and the detections' threads they start) run at ATLAS_SLOW_POOL_NICE;
        its listener and its start stay at normal priority, so that a promotion reaches it at once."""
        if not getattr(self._local, "lowered", False):
            self._local.lowered = True
            slow_lane.lower_this_thread(
                settings.ATLAS_SLOW_POOL_NICE, idle=settings.ATLAS_SLOW_POOL_IDLE, what="a slow pool thread"
            )

    # --- the web worker's side ---------------------------------------------------------------------------

    def _forward(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        if body is None:  # chunked, oversized or unreadable: Django answers it as it always does
            return self.app(environ, start_response)
        try:
            status, headers, payload = self._exchange(environ, body)
        except TimeoutError:
            return _json(
                start_response,
                "504 Gateway Timeout",
                {
                    "detail": f"The slow pool did not answer within {self.timeout:g} s.",
                    "error": "slow_pool_timeout",
                },
            )
        except PoolUnavailable as exc:
            SLOW_POOL_FALLBACKS.inc()
            logger.warning("slow pool unavailable (%s): %s answered in this worker", exc, environ.get("PATH_INFO"))
            body.seek(0)
            environ["wsgi.input"] = body
            return self.app(environ, start_response)
        finally:
            if not body.closed and environ.get("wsgi.input") is not body:
                body.close()
        start_response(status, headers)
        return [payload]

    def _exchange(self, environ: Environ, body: Any) -> tuple[str, list[tuple[str, str]], bytes]:
        method = environ["REQUEST_METHOD"]
        target = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        target = _quote(target) + (f"?{_quote(query, safe=QUERY_SAFE)}" if query else "")
        headers = _request_headers(environ)
        fresh = getattr(self._local, "connection", None) is None
        whole_sends = 0  # the pool may have run the request each time: twice at most
        give_up_at: float | None = None  # from this request's first refusal or drop: ATLAS_SLOW_POOL_WAIT later
        while True:
            connection = self._connection(fresh=fresh)
            if fresh:
                try:
                    give_up_at = _open(connection, give_up_at)
                except BaseException:
                    self._drop()
                    raise
            body.seek(0)
            sent = False
            try:
                connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.endheaders()
                while block := body.read(READ_BLOCK):
                    connection.send(block)
                sent = True
                response = connection.getresponse()
                payload = response.read()
            except TimeoutError:
                self._drop()
                raise
            except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: a header http.client refuses
                self._drop()
                whole_sends += sent
                if not isinstance(exc, (http.client.RemoteDisconnected, *CONNECT_ERRORS)) or whole_sends >= 2:
                    raise PoolUnavailable(f"{type(exc).__name__}: {exc}") from exc
                if not fresh:  # a kept-alive connection the pool closed meanwhile: again on a new one
                    fresh = True
                    continue
                # The pool dropped a new connection: it is going or (re)starting. A request it may have
                # started on (sent whole) is sent once more at most, like the fallback would run it again.
                if give_up_at is None:
                    give_up_at = outage.refused()
                if time.monotonic() < give_up_at:
                    time.sleep(CONNECT_POLL_S)
                    continue
                raise PoolUnavailable(f"{type(exc).__name__}: {exc}") from exc
            if response.will_close:
                self._drop()
            # Any answer the pool gives is the answer, a 5xx included (a 503 for a model with no active
            # version would be this worker's answer too, and answering it here would load torch for nothing).
            kept = [(name, value) for name, value in response.getheaders() if name.lower() not in HOP_BY_HOP]
            return f"{response.status} {response.reason}", kept, payload

    def _connection(self, *, fresh: bool) -> _UnixConnection:
        if fresh:
            self._drop()
            self._local.connection = _UnixConnection(self.socket_path, self.timeout)
        connection: _UnixConnection = self._local.connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()


def _open(connection: _UnixConnection, deadline: float | None) -> float | None:
    """Connect, waiting while the pool is awaited (see `_Outage`): until `deadline`, the request's own, or
    from the first refusal when it has none yet. PoolUnavailable once past it; the deadline it kept."""
    while True:
        try:
            connection.connect()
        # nothing listens on the socket (yet), or its backlog is full (a non-blocking connect's EAGAIN)
        except (FileNotFoundError, ConnectionRefusedError, BlockingIOError) as exc:
            if deadline is None:
                deadline = outage.refused()
            if time.monotonic() >= deadline:
                raise PoolUnavailable(f"{type(exc).__name__}: {exc}") from exc
            time.sleep(CONNECT_POLL_S)
            continue
        except TimeoutError:
            raise
        except OSError as exc:
            raise PoolUnavailable(f"{type(exc).__name__}: {exc}") from exc
        outage.listened()
        return deadline


def _read_body(environ: Environ) -> Any:
    """The request body, read into a spooled file; None when Django should read it itself."""
    length_text = environ.get("CONTENT_LENGTH") or ""
    if not length_text and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None  # a chunked body no wrapper has read (atlas.request_guard.ChunkedBodies reads them)
    length_text = length_text or "0"
    if not (length_text.isascii() and length_text.isdigit()):
        return None
    length = int(length_text)
    if length > chunked_body_limit(environ.get("CONTENT_TYPE", "")):
        return None
    body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    stream, left = environ["wsgi.input"], length
    try:
        while left > 0 and (block := stream.read(min(READ_BLOCK, left))):
            body.write(block)
            left -= len(block)
    except Exception as exc:  # noqa: BLE001 -- a body that cannot be read (a 408 under gunicorn): Django's to answer
        body.close()
        environ["wsgi.input"] = _Unreadable(exc)
        return None
    if left:  # the client sent less than it declared: Django answers what it reads, as without the pool
        environ["CONTENT_LENGTH"] = str(length - left)
    body.seek(0)
    return body


class _Unreadable:
    """A body whose reading failed: Django's read raises the same error, which it answers as without the pool."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, *args: Any) -> bytes:
        raise self.error

    readline = read


def _request_headers(environ: Environ) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if not key.startswith("HTTP_") or key.startswith(PRIVATE_PREFIX):
            continue
        name = key[5:].replace("_", "-").title()
        if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
            continue
        headers.append((name, value))
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", environ["CONTENT_TYPE"]))
    headers.append(("Content-Length", environ.get("CONTENT_LENGTH") or "0"))
    if "HTTP_HOST" not in environ:
        headers.append(("Host", f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"))
    headers += [
        ("X-Atlas-Pool-Remote-Addr", environ.get("REMOTE_ADDR", "")),
        ("X-Atlas-Pool-Scheme", environ.get("wsgi.url_scheme", "http")),
        ("X-Atlas-Pool-Server", f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"),
    ]
    return headers


def _restore(environ: Environ) -> None:
    """In a member of the pool: the client as the web worker saw it (only web workers reach its socket)."""
    addr = environ.pop("HTTP_X_ATLAS_POOL_REMOTE_ADDR", None)
    scheme = environ.pop("HTTP_X_ATLAS_POOL_SCHEME", None)
    server = environ.pop("HTTP_X_ATLAS_POOL_SERVER", None)
    if addr is not None:
        environ["REMOTE_ADDR"] = addr
    if scheme in ("http", "https"):
        environ["wsgi.url_scheme"] = scheme
    if server:
        name, _, port = server.rpartition(":")
        environ["SERVER_NAME"], environ["SERVER_PORT"] = name or environ.get("SERVER_NAME", ""), port
    for key in [key for key in environ if key.startswith(PRIVATE_PREFIX)]:
        del environ[key]


PATH_SAFE = "/:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?%"  # a query string comes still percent-encoded: only raw bytes are quoted


def _quote(text: str, safe: str = PATH_SAFE) -> str:
    from urllib.parse import quote

    # WSGI gives the path (decoded) and the query (as sent) as latin-1 text; the pool's server decodes them
    return quote(text.encode("latin-1", errors="replace"), safe=safe)


def _json(start_response: StartResponse, status: str, body: dict[str, str]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def readiness(host: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """For a web worker's /readyz: whether the pool answers, and its own /readyz `models` (None when it
    cannot be asked). `host`: the Host header of the request being answered, which the pool checks too."""
    connection = _UnixConnection(settings.ATLAS_SLOW_POOL_SOCKET, READINESS_TIMEOUT)
    try:
        connection.request("GET", "/readyz", headers={"Host": host})
        response = connection.getresponse()
        body = json.loads(response.read())
        models = body["models"]
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as exc:
        return _unreachable(exc), None
    finally:
        connection.close()
    outage.listened()
    return {"reachable": True, "error": None, "awaited": False, "cpus": body.get("cpus")}, models


def _unreachable(exc: Exception) -> dict[str, Any]:
    return {"reachable": False, "error": f"{type(exc).__name__}: {exc}", "awaited": outage.awaited(), "cpus": None}
