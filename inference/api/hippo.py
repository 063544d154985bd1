"""The MNIST service Atlas replaces ("Hippo"), at its own paths: the same views as Atlas's, with one
translation layer that gives their errors FastAPI's shapes (what Hippo's clients parse).

    POST /v1/predict, /v1/activations   -> PredictView, ActivationsView
    GET  /mnist/samples                 -> SamplesView (Hippo's train / validation / test)
    GET  /models                        -> the digit models: versions, accuracy, which is active

FastAPI answers a request that fails validation with 422 {"detail": [{"loc", "msg", "type"}, ...]} and
an HTTPException with {"detail": "..."}. `fastapi_errors` rewrites an Atlas error answer
({"error": code, "detail": text}, or the 503 {"error": text, "model": name, "detail"}) into that shape, keeping
Atlas's code as an extra `error` key. Successful answers pass through untouched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.urls import path
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from atlas.http.fastapi_schema import FastAPIDetail, FastAPIValidationError
from inference.api.digits import (
    DIGIT_MODEL,
    TAGS,
    ActivationsResponse,
    ActivationsView,
    PredictResponse,
    PredictView,
    SamplesResponse,
    SamplesView,
    _PublicView,
)
from models_registry import selectors

# Atlas error code -> (status, loc, FastAPI/pydantic error type). loc None: Hippo raised HTTPException
# there, so the answer keeps {"detail": "text"} at that status.
FASTAPI_ERRORS: dict[str, tuple[int, list[str | int] | None, str]] = {
    "invalid_json": (422, ["body"], "json_invalid"),
    "missing_pixels": (422, ["body", "pixels"], "missing"),
    "invalid_pixels": (422, ["body", "pixels"], "float_type"),
    "wrong_length": (422, ["body", "pixels"], "too_short"),
    "out_of_range": (422, ["body", "pixels"], "value_error"),
    "invalid_parameter": (422, ["query"], "int_parsing"),
    "count_out_of_range": (400, None, "value_error"),  # Hippo: 400 "Count must be between 1 and 100"
    "invalid_dataset": (400, None, "value_error"),  # Hippo: 400 "Invalid dataset. Use 'train', ..."
}
_INDEX = re.compile(r"pixels\[(\d+)\]")
_LENGTH = re.compile(r"has (\d+) values; expected (\d+)")
_QUERY = re.compile(r"^(count|seed|dataset)\b")


def _validation_item(code: str, detail: str) -> dict[str, Any]:
    status, loc, kind = FASTAPI_ERRORS[code]
    loc = list(loc or [])
    if (index := _INDEX.search(detail)) is not None:
        loc.append(int(index.group(1)))
    if code == "wrong_length" and (length := _LENGTH.search(detail)) and int(length.group(1)) > int(length.group(2)):
        kind = "too_long"
    if loc == ["query"] and (name := _QUERY.match(detail)) is not None:
        loc.append(name.group(1))
    return {"loc": loc, "msg": detail, "type": kind}


def fastapi_body(status: int, data: Any) -> tuple[int, dict[str, Any]]:
    """(status, body) in FastAPI's shape for an Atlas error answer."""
    if not isinstance(data, dict):
        return status, {"detail": data}
    code, detail = data.get("error"), data.get("detail")
    if status == 503 and "model" in data:  # the model-unavailable answer: {"error": text, "model", "detail"}
        # "No model loaded. <why>", as the MNIST service worded it (its clients look for it).
        text = detail if isinstance(detail, str) else f"No model loaded. {code}"
        return status, {"detail": text, "error": "model_unavailable", "model": data["model"]}
    if isinstance(code, str) and isinstance(detail, str) and code in FASTAPI_ERRORS:
        new_status, loc, _kind = FASTAPI_ERRORS[code]
        if loc is None:
            return new_status, {"detail": detail, "error": code}
        return new_status, {"detail": [_validation_item(code, detail)], "error": code}
    return status, data


def fastapi_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a view so that its error answers take FastAPI's shapes (the one translation layer)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code >= 400 and isinstance(response, Response) and not response.is_rendered:
            response.status_code, response.data = fastapi_body(response.status_code, response.data)
        return response

    return wrapped


# --- GET /models ---------------------------------------------------------------------------------

ModelsResponse = inline_serializer(
    "DigitModels",
    {
        "models": serializers.ListField(
            child=inline_serializer(
                "DigitModel",
                {
                    "name": serializers.CharField(),
                    "version": serializers.CharField(),
                    "accuracy": serializers.FloatField(allow_null=True),
                    "active": serializers.BooleanField(),
                    "status": serializers.CharField(),
                    "architecture": serializers.ListField(child=serializers.IntegerField(), allow_null=True),
                    "activation": serializers.CharField(allow_null=True),
                    "training": serializers.DictField(allow_null=True),
                },
            )
        ),
        "active": serializers.CharField(allow_null=True),
        "model": serializers.CharField(),
    },
)


class ModelsView(_PublicView):
    @extend_schema(
        operation_id="digits_models",
        tags=TAGS,
        summary="The digit models: every version, its accuracy, which one is active",
        description=(
            f"Every version of `{DIGIT_MODEL}`, newest first. `name` is the version (a Hub repository's "
            "`{name}.npz` is registered under its name); `accuracy` is the measured one (train_digits, or the "
            "`final_accuracy` of a Hub model's .json)."
        ),
        responses={200: ModelsResponse},
    )
    def get(self, request: Request) -> Response:
        model = selectors.registered_model(name=DIGIT_MODEL)
        if model is None:
            return Response({"models": [], "active": None, "model": DIGIT_MODEL})
        active = model.active_version_id
        rows = []
        for version in selectors.versions_newest_first(model=model):
            metadata = version.metadata or {}
            rows.append(
                {
                    "name": version.version,
                    "version": version.version,
                    "accuracy": (version.metrics or {}).get("accuracy"),
                    "active": version.pk == active,
                    "status": version.status,
                    "architecture": metadata.get("layer_sizes"),
                    "activation": metadata.get("activation"),
                    "training": metadata.get("training"),
                }
            )
        active_name = next((row["version"] for row in rows if row["active"]), None)
        return Response({"models": rows, "active": active_name, "model": DIGIT_MODEL})


# The error shapes of these paths, for /docs (fastapi_body makes them): atlas/http/fastapi_schema.py.


def _at_old_path(
    view: type[_PublicView], method: str, operation_id: str, responses: dict[int, Any]
) -> Callable[..., HttpResponse]:
    """The view itself, behind `fastapi_errors`; a bare subclass only so that /docs names it apart."""
    # type() of a dynamic base is a plain `type` to mypy.
    named = cast("type[_PublicView]", type(f"Old{view.__name__}", (view,), {"__doc__": view.__doc__}))
    schema = extend_schema(
        operation_id=operation_id, description="The old service's path; FastAPI's errors.", responses=responses
    )
    return fastapi_errors(extend_schema_view(**{method: schema})(named).as_view())


_PIXEL_ANSWERS = {422: FastAPIValidationError, 503: FastAPIDetail}
urlpatterns = [
    path(
        "v1/predict",
        _at_old_path(PredictView, "post", "v1_predict", {200: PredictResponse, **_PIXEL_ANSWERS}),
        name="hippo-predict",
    ),
    path(
        "v1/activations",
        _at_old_path(ActivationsView, "post", "v1_activations", {200: ActivationsResponse, **_PIXEL_ANSWERS}),
        name="hippo-activations",
    ),
    path(
        "mnist/samples",
        _at_old_path(
            SamplesView, "get", "mnist_samples", {200: SamplesResponse, 400: FastAPIDetail, 422: FastAPIValidationError}
        ),
        name="hippo-samples",
    ),
    path("models", ModelsView.as_view(), name="hippo-models"),
]


class PlainJsonSchemaRenderer(OpenApiJsonRenderer):
    """/openapi.json answers `application/json`, as FastAPI's did (drf-spectacular says vnd.oai.openapi+json)."""

    media_type = "application/json"
