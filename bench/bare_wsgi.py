"""The floor for Atlas's POST /predict: a bare WSGI app with no framework on the request path.

It does the useful work of a prediction exactly as Atlas does it, with Atlas's own functions: the body parsed
by `inference.api.digits.parse_body` (orjson, NumPy validation), the forward pass and the answer's fields by
`digit_prediction` with the same numpy_mlp runtime on the same .npz file (BARE_MODEL_PATH), and the answer
serialised with orjson, as `predict_answer` does. What it leaves out is what Atlas adds around that work: the
registry's active version (model_cache), the request id, metrics, the Host check and the security headers.
No Django request/response, no middleware, no DRF. Django is configured once at import only because
`parse_body` lives in a module that imports DRF.

POST /predict   the bare prediction
GET  /trivial   a constant answer: what the load generator reaches when the server does nothing
GET  /healthz   200 once the app is importable

Run by bench/predict_throughput.py under the Procfile's `web:` command (granian, the same server and options
as Atlas) and under bench/bare_gunicorn.conf.py (Atlas's gunicorn settings); by bench/split_load.py under
deploy/Procfile.split's granian options.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
django.setup()

import orjson  # noqa: E402

from inference.api.digits import PixelsError, digit_prediction, parse_body  # noqa: E402
from inference.runtimes.numpy_mlp import read_npz  # noqa: E402

_predictor = None
TRIVIAL = b'{"ok":true}'


def _model():
    global _predictor
    if _predictor is None:  # loaded on the first request, never at import
        _predictor = read_npz(os.environ["BARE_MODEL_PATH"])
        _predictor.warm_up()
    return _predictor


def _answer(start_response, status: str, payload: bytes):
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/trivial":
        return _answer(start_response, "200 OK", TRIVIAL)
    if path == "/healthz":
        return _answer(start_response, "200 OK", TRIVIAL)
    if path != "/predict" or environ["REQUEST_METHOD"] != "POST":
        return _answer(start_response, "404 Not Found", b'{"error":"not_found"}')
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    try:
        pixels = parse_body(environ.get("CONTENT_TYPE", ""), body)
    except PixelsError as exc:
        return _answer(start_response, "400 Bad Request", orjson.dumps({"error": exc.error, "detail": exc.detail}))
    answer = digit_prediction(_model(), pixels)
    return _answer(start_response, "200 OK", orjson.dumps({**answer, "model": "digit_classifier", "version": "bare"}))
