"""The Open Inference Protocol (KServe/Triton "V2") over REST, for every model whose predictor takes tensors
(inference.runtimes.protocols.TensorModel: onnx, sklearn, and the digits network).

    GET  /v2                                         server metadata
    GET  /v2/health/live, /v2/health/ready           liveness, readiness (200, else 503)
    GET  /v2/models/{name}[/versions/{v}]            model metadata: platform, versions, inputs, outputs
    GET  /v2/models/{name}[/versions/{v}]/ready      200 when served here, else 503
    POST /v2/models/{name}[/versions/{v}]/infer      inference (JSON, or Triton's binary tensor extension)

Without a version a request goes where /predict's would (`model_cache.get`: the active version, or a
rollout's canary by its route key); with one, only a version this worker serves (active, or a rollout's
candidate) answers, else a 404 naming those it serves. Errors are `{"error": "..."}`: 400 for a request
the signature refuses (inference/v2_codec.py), 404 for an unknown model or version, 503 for a model with
nothing loadable. Every answer names the model and the version, and is counted like other predictions.

An infer body is held to ATLAS_MAX_UPLOAD_MB from its headers (413 before a byte is read); an ONNX or
scikit-learn model runs in one of the worker's slow slots (atlas.admission: 503 `overloaded` with Retry-After
when none frees in time), the digits network, as fast as /predict, in none.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from atlas import admission
from inference import metrics, model_cache, readiness
from inference.runtimes.numpy_mlp import DigitPredictor
from inference.runtimes.protocols import TensorModel
from inference.runtimes.tensors import TensorInputError
from inference.v2_codec import HEADER, V2Error, encode_answer, parse_infer
from models_registry import selectors
from models_registry.signatures import Signature

JSON = "application/json"
TAGS = ["open inference protocol"]
PLATFORMS = {"onnx": "onnxruntime_onnx"}  # Triton's name; every other runtime is its own platform


class V2Failure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type=JSON)


def _served(name: str) -> model_cache.LoadedModel:
    """The entry `/predict` would use (model_cache.get); V2Failure 404/503 otherwise."""
    try:
        return model_cache.get(name)
    except model_cache.ModelNotServed as exc:
        raise V2Failure(503, str(exc)) from None
    except model_cache.ModelUnavailable as exc:
        if selectors.registered_model(name=name) is None:
            raise V2Failure(404, f"Unknown model {name!r}.") from None
        raise V2Failure(503, str(exc)) from None


def _entry(name: str, version: str | None) -> model_cache.LoadedModel:
    if version is None:
        entry = _served(name)
    else:
        entries = model_cache.served_entries(name)
        noted = not entries
        if noted:  # nothing loaded here yet: load the active version as /predict would
            _served(name)
            entries = model_cache.served_entries(name)
        found = next((e for e in entries if e.version == version), None)
        if found is None:
            served = ", ".join(e.version for e in entries) or "none"
            raise V2Failure(404, f"Version {version!r} of {name} is not served here; served: {served}.")
        if not noted:
            metrics.note_served(found.name, found.version)
        entry = found
    if not isinstance(entry.predictor, TensorModel):
        raise V2Failure(404, f"Model {name!r} takes no tensors over the Open Inference Protocol; use its endpoint.")
    return entry


def _tensors(entry: model_cache.LoadedModel) -> TensorModel:
    """The predictor of an entry `_entry` answered, which it checked is a TensorModel."""
    return cast(TensorModel, entry.predictor)


_signatures: dict[tuple[int, str], Signature] = {}


def signature_of(entry: model_cache.LoadedModel) -> Signature:
    """The version's recorded signature (read once per version and bytes), else what its predictor says. While
    the registry is unreachable (a worker serving its last known pointer) the predictor's own signature
    answers, uncached, as /predict keeps answering then."""
    key = (entry.version_id, entry.sha256)
    found = _signatures.get(key)
    if found is None:
        try:
            recorded: Any = selectors.version_io_signature(version_id=entry.version_id)
        except DatabaseError:
            own: Signature = _tensors(entry).signature
            return own
        found = recorded or _tensors(entry).signature
        _signatures[key] = found
    return found


def _failing(view: Any) -> Any:
    """A V2Failure or V2Error raised by the view becomes the protocol's {"error"} answer."""

    def handler(self: APIView, request: Request, **kwargs: Any) -> HttpResponse:
        try:
            response: HttpResponse = view(self, request, **kwargs)
        except V2Failure as exc:
            return _json({"error": str(exc)}, exc.status)
        except (V2Error, TensorInputError) as exc:
            return _json({"error": str(exc)}, 400)
        return response

    handler.__name__ = view.__name__
    handler.__doc__ = view.__doc__
    return handler


# --- Shapes, for the schema only ---------------------------------------------------------------------

Error = inline_serializer("V2Error", {"error": serializers.CharField()})


def _tensor_shape() -> Any:
    return inline_serializer(
        "V2TensorMetadata",
        {
            "name": serializers.CharField(),
            "datatype": serializers.CharField(),
            "shape": serializers.ListField(child=serializers.IntegerField()),
        },
        many=True,
    )


ServerMetadata = inline_serializer(
    "V2ServerMetadata",
    {
        "name": serializers.CharField(),
        "version": serializers.CharField(),
        "extensions": serializers.ListField(child=serializers.CharField()),
    },
)
Live = inline_serializer("V2Live", {"live": serializers.BooleanField()})
Ready = inline_serializer("V2Ready", {"ready": serializers.BooleanField()})
ModelReady = inline_serializer("V2ModelReady", {"name": serializers.CharField(), "ready": serializers.BooleanField()})
ModelMetadata = inline_serializer(
    "V2ModelMetadata",
    {
        "name": serializers.CharField(),
        "versions": serializers.ListField(child=serializers.CharField()),
        "platform": serializers.CharField(),
        "inputs": _tensor_shape(),
        "outputs": _tensor_shape(),
    },
)
_PARAMETERS = serializers.DictField(required=False, help_text="binary_data_size, binary_data, binary_data_output")
InferRequestBody = inline_serializer(
    "V2InferRequest",
    {
        "id": serializers.CharField(required=False),
        "parameters": _PARAMETERS,
        "inputs": inline_serializer(
            "V2InferInput",
            {
                "name": serializers.CharField(),
                "shape": serializers.ListField(child=serializers.IntegerField(min_value=0)),
                "datatype": serializers.CharField(),
                "parameters": _PARAMETERS,
                "data": serializers.ListField(required=False, help_text="Flat or nested, row-major."),
            },
            many=True,
        ),
        "outputs": inline_serializer(
            "V2RequestedOutput", {"name": serializers.CharField(), "parameters": _PARAMETERS}, many=True, required=False
        ),
    },
)
InferAnswer = inline_serializer(
    "V2InferResponse",
    {
        "model_name": serializers.CharField(),
        "model_version": serializers.CharField(),
        "id": serializers.CharField(required=False),
        "outputs": inline_serializer(
            "V2InferOutput",
            {
                "name": serializers.CharField(),
                "shape": serializers.ListField(child=serializers.IntegerField()),
                "datatype": serializers.CharField(),
                "parameters": _PARAMETERS,
                "data": serializers.ListField(required=False),
            },
            many=True,
        ),
    },
)
_BINARY_NOTE = (
    f" With Triton's binary tensor data extension the body is `{HEADER}` bytes of this JSON followed by the "
    "binary inputs (application/octet-stream), and so is an answer with binary outputs."
)


# --- Views -------------------------------------------------------------------------------------------


class _V2View(APIView):
    # Public and stateless like /predict: no session, no token, no CSRF.
    authentication_classes = ()
    permission_classes = (AllowAny,)


class ServerMetadataView(_V2View):
    @extend_schema(operation_id="v2_server_metadata", tags=TAGS, responses={200: ServerMetadata})
    def get(self, request: Request) -> HttpResponse:
        return _json({"name": "atlas", "version": settings.ATLAS_VERSION, "extensions": ["binary_tensor_data"]})


class LiveView(_V2View):
    @extend_schema(operation_id="v2_health_live", tags=TAGS, responses={200: Live})
    def get(self, request: Request) -> HttpResponse:
        return _json({"live": True})


class ReadyView(_V2View):
    @extend_schema(
        operation_id="v2_health_ready",
        tags=TAGS,
        description="Ready as /readyz: the database answers and every active model served here is loaded.",
        responses={200: Ready, 503: Ready},
    )
    def get(self, request: Request) -> HttpResponse:
        ready, _ = readiness.decide()
        return _json({"ready": ready}, 200 if ready else 503)


class ModelMetadataView(_V2View):
    @extend_schema(operation_id="v2_model_metadata", tags=TAGS, responses={200: ModelMetadata, 404: Error, 503: Error})
    @_failing
    def get(self, request: Request, name: str, version: str | None = None) -> HttpResponse:
        entry = _entry(name, version)
        try:
            model = selectors.registered_model(name=name)
        except DatabaseError:  # the registry unreachable: the platform is the one thing it alone knows
            model = None
        runtime = model.runtime if model is not None else ""
        signature = signature_of(entry)
        return _json(
            {
                "name": name,
                "versions": [e.version for e in model_cache.served_entries(name)],
                "platform": PLATFORMS.get(runtime, runtime),
                "inputs": signature["inputs"],
                "outputs": signature["outputs"],
            }
        )


class ModelReadyView(_V2View):
    @extend_schema(operation_id="v2_model_ready", tags=TAGS, responses={200: ModelReady, 404: Error, 503: Error})
    @_failing
    def get(self, request: Request, name: str, version: str | None = None) -> HttpResponse:
        _entry(name, version)
        return _json({"name": name, "ready": True})


class InferView(_V2View):
    # A tensor body is a prediction's input, held to the prediction uploads' limit from its headers before a
    # byte is read (atlas.request_guard.BodyLimits): 413 JSON.
    body_limit_setting = "ATLAS_MAX_UPLOAD_MB"

    @extend_schema(
        operation_id="v2_model_infer",
        tags=TAGS,
        description="Inputs checked against the version's signature; outputs as JSON data or binary." + _BINARY_NOTE,
        request={JSON: InferRequestBody, "application/octet-stream": OpenApiTypes.BINARY},
        responses={
            (200, JSON): InferAnswer,
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            400: Error,
            404: Error,
            503: OpenApiResponse(
                description="Nothing loadable for the model (`error` says why), or every slow slot is busy "
                "(`overloaded`, with Retry-After).",
                response=Error,
            ),
        },
    )
    @_failing
    def post(self, request: Request, name: str, version: str | None = None) -> HttpResponse:
        entry = _entry(name, version)
        signature = signature_of(entry)
        http: HttpRequest = request._request
        parsed = parse_infer(http.body, http.headers.get(HEADER), signature)
        names = [output for output, _ in parsed.outputs]
        tensors = _tensors(entry)
        if isinstance(tensors, DigitPredictor):  # /predict's network: microseconds, no slot, as /predict
            results = tensors.infer(parsed.inputs, names)
        else:  # any ONNX graph or scikit-learn pipeline may run for seconds: one of the worker's slow slots
            with admission.slot(name):
                results = tensors.infer(parsed.inputs, names)
        body, head = encode_answer(
            model_name=name,
            model_version=entry.version,
            request_id=parsed.id,
            outputs=parsed.outputs,
            results=results,
            signature=signature,
        )
        if head is None:
            return HttpResponse(body, content_type=JSON)
        response = HttpResponse(body, content_type="application/octet-stream")
        response[HEADER] = str(head)
        return response


_MODEL = "v2/models/<str:name>"
_VERSION = "v2/models/<str:name>/versions/<str:version>"
urlpatterns = [
    path("v2", ServerMetadataView.as_view(), name="v2-server"),
    path("v2/health/live", LiveView.as_view(), name="v2-live"),
    path("v2/health/ready", ReadyView.as_view(), name="v2-ready"),
    path(_MODEL, ModelMetadataView.as_view(), name="v2-model"),
    path(_VERSION, ModelMetadataView.as_view(), name="v2-model-version"),
    path(f"{_MODEL}/ready", ModelReadyView.as_view(), name="v2-model-ready"),
    path(f"{_VERSION}/ready", ModelReadyView.as_view(), name="v2-model-version-ready"),
    path(f"{_MODEL}/infer", InferView.as_view(), name="v2-infer"),
    path(f"{_VERSION}/infer", InferView.as_view(), name="v2-version-infer"),
]
