"""The floor for Atlas's POST /predict: a bare WSGI app with no framework on the request path.

It parses the body with the same function as Atlas (`inference.api.digits.parse_pixels`), runs the same
forward pass with the same numpy_mlp runtime on the same .npz file (BARE_MODEL_PATH), and answers the
same JSON keys with `json.dumps`. No Django request/response, no middleware, no DRF, no model cache.
Django is configured once at import only because `parse_pixels` lives in a module that imports DRF.

POST /predict   the bare prediction
GET  /trivial   a constant answer: what the load generator reaches when the server does nothing
GET  /healthz   200 once the app is importable

Run by bench/predict_throughput.py under bench/bare_gunicorn.conf.py (Atlas's gunicorn settings).
"""

from __future__ import annotations

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
django.setup()

import numpy as np  # noqa: E402

from inference.api.digits import PixelsError, parse_pixels  # noqa: E402
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
        pixels = parse_pixels(body)
    except PixelsError as exc:
        return _answer(
            start_response, "400 Bad Request", json.dumps({"error": exc.error, "detail": exc.detail}).encode()
        )
    probabilities = _model().predict(pixels.astype(np.float32))
    digit = int(probabilities.argmax())
    payload = {
        "predicted_digit": digit,
        "confidence": float(probabilities[digit]),
        "probabilities": probabilities.tolist(),
        "model": "digit_classifier",
        "version": "bare",
    }
    return _answer(start_response, "200 OK", json.dumps(payload).encode())
