"""WSGI apps for bench/predict_breakdown.py: Atlas's application with parts of its hot path taken away.

Served by granian as `bench.hot_path_variants:<variant>`:
  atlas     Atlas as the Procfile serves it (atlas.granian_app: serving started, the hot path, everything)
  minimal   the same process (serving started, the registry's listener running), but POST /predict calls
            only `predict_answer` (parse, the registry's active version, the forward pass, orjson) and answers
            with Content-Type and Content-Length: Atlas's useful work with none of what surrounds it
  headers   minimal + the security headers Atlas's answer carries (inference.hot_path.static_headers)
  scope     headers + the request scope (request id, what answered, the metrics) and the X-Request-ID header
What `atlas` adds to `scope` is the hot path's own checks (Host, length, headers, secure scheme), its
fall-backs to Django and the body-deadline wrapper. Never used outside bench/: these variants drop what the
product must do.
"""

from __future__ import annotations

from atlas.granian_app import application as atlas_application
from atlas.http import request_context
from inference.api.digits import predict_answer
from inference.hot_path import static_headers

JSON_HEADER = [("Content-Type", "application/json")]
SECURITY_HEADERS = static_headers(secure=False)


def _minimal(environ, start_response, *, headers: list[tuple[str, str]], scope: bool):
    if environ.get("PATH_INFO") != "/predict":
        return atlas_application(environ, start_response)
    opened = request_context.RequestScope(environ) if scope else None
    try:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        status, payload = predict_answer(environ.get("CONTENT_TYPE", ""), body)
        extra = [("Content-Length", str(len(payload)))]
        if opened is not None:
            opened.finish(method="POST", path="/predict", status=status, log=False)
            extra.append(("X-Request-ID", opened.rid))
        start_response("200 OK", [*headers, *extra])
        return [payload]
    finally:
        if opened is not None:
            opened.close()


atlas = atlas_application


def minimal(environ, start_response):
    return _minimal(environ, start_response, headers=JSON_HEADER, scope=False)


def headers(environ, start_response):
    return _minimal(environ, start_response, headers=SECURITY_HEADERS, scope=False)


def scope(environ, start_response):
    return _minimal(environ, start_response, headers=SECURITY_HEADERS, scope=True)
