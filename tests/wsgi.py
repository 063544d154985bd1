"""Calling a WSGI application in the test process, as a server would: one request, its whole answer.
bench/measure.py builds its no-socket calls from the same environ."""

from __future__ import annotations

import io
import json
import sys

DIGIT = json.dumps({"pixels": [0.0] * 300 + [1.0] * 184 + [0.0] * 300}).encode()


def environ_for(body: bytes, *, path: str, method: str, **extra: str) -> dict:
    """The environ a server gives the app for this request (a fresh body stream each time)."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "REMOTE_ADDR": "127.0.0.1",
        **extra,
    }


def call(app, body: bytes = DIGIT, *, path: str = "/predict", method: str = "POST", **extra: str):
    environ = environ_for(body, path=path, method=method, **extra)
    started: list = []
    chunks = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    payload = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    status, headers = started[-1]
    return status, dict(headers), payload


class CountedInput:
    """A request body of endless bytes that counts what the application read of it: 0 proves a refusal
    from the headers alone."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        block = b"x" * (65536 if size is None or size < 0 else min(size, 65536))
        self.read_bytes += len(block)
        return block

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)
