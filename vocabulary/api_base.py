"""What every dictionary view shares: permissions, the envelope, the error answers and their schema.

Errors have the MNIST service's (FastAPI's) shapes:
- a field, query parameter or path id that does not validate: 422 `{"detail": [{"loc", "msg", "type"}],
  "error": "invalid_input"}` (`loc` starts with "body", "query" or "path"; `error` is Atlas's extra key);
- a uniqueness conflict: 400 `{"detail": "Word 'x' already exists for language 'en'", "duplicates": [...]}`
  (`duplicates`, Atlas's extra key, names every conflicting item);
- a missing row: 404 `{"detail": "Word 7 not found"}`.
Nothing answers a bare 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.http.fastapi_schema import FastAPIDetail, FastAPIValidationError
from atlas.http.parsers import SafeJSONParser
from vocabulary import errors
from vocabulary.filters import QueryError, QueryParam, parse_int, parse_query
from vocabulary.pagination import EnvelopePagination

# DRF's error codes as pydantic's error types (the `type` of FastAPI's validation items).
_TYPES = {
    "required": "missing",
    "null": "string_type",
    "blank": "string_too_short",
    "min_length": "string_too_short",
    "max_length": "string_too_long",
    "invalid_choice": "enum",
    "min_value": "greater_than_equal",
    "max_value": "less_than_equal",
    "max_string_length": "int_parsing",
    "not_a_list": "list_type",
    "empty": "too_short",
    "max_length_list": "too_long",
    "invalid": "value_error",
}


def validation_items(detail: Any, loc: list[Any]) -> Iterator[dict[str, Any]]:
    """FastAPI's validation items for a (nested) DRF error detail, each with its location."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = int(key) if isinstance(key, str) and key.isdigit() else key
            yield from validation_items(value, loc if name == "non_field_errors" else [*loc, name])
    elif isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        for message in detail:
            yield _item(message, loc)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                yield from validation_items(value, [*loc, index])
    elif detail:
        yield _item(detail, loc)


def _item(message: Any, loc: list[Any]) -> dict[str, Any]:
    code = getattr(message, "code", None) or "invalid"
    return {"loc": loc, "msg": str(message), "type": _TYPES.get(code, code if "_" in code else "value_error")}


class Unprocessable(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "invalid_input"

    def __init__(self, detail: Any, *, location: str = "body") -> None:
        super().__init__("Invalid input.")
        # DRF's stubs want ErrorDetails in `detail`; the exception handler renders any JSON (FastAPI's shape).
        items = list(validation_items(detail, [location]))
        self.detail = {"detail": items, "error": "invalid_input"}  # type: ignore[dict-item]


class Conflict(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "conflict"

    def __init__(self, message: str, duplicates: list[dict[str, Any]]) -> None:
        super().__init__(message)
        # Kept as is: indices stay integers (DRF's stubs want ErrorDetails in `detail`).
        self.detail = {"detail": message, "duplicates": duplicates}  # type: ignore[dict-item]


class Missing(APIException):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


def api_error(exc: Exception) -> Exception:
    """The API exception that answers a service or validation error; any other exception unchanged."""
    if isinstance(exc, serializers.ValidationError):
        return Unprocessable(exc.detail)
    if isinstance(exc, errors.InvalidInput):
        return Unprocessable(exc.errors, location=exc.location)
    if isinstance(exc, errors.ConflictError):
        return Conflict(exc.message, exc.duplicates)
    if isinstance(exc, errors.NotFound):
        return Missing(exc.message)
    if isinstance(exc, IntegrityError):
        return Conflict(f"The change conflicts with existing data; nothing was saved ({exc}).", [])
    return exc


def path_id(name: str, raw: str) -> int:
    """A path's integer id, or FastAPI's 422 at ["path", name]. An id no row can have is kept: a 404."""
    try:
        return parse_int(raw)
    except QueryError as exc:
        raise errors.InvalidInput({name: [ErrorDetail(str(exc), code=exc.code)]}, location="path") from None


# --- the error answers in the schema --------------------------------------------------------------

ERROR, INVALID = FastAPIDetail, FastAPIValidationError
CONFLICT = inline_serializer(
    "DictionaryConflict",
    {
        "detail": serializers.CharField(),
        # A uniqueness conflict names its duplicates; a body that does not parse (bad JSON, too deep, a
        # NUL character) is a 400 with `detail` only.
        "duplicates": serializers.ListField(child=serializers.JSONField(), required=False),
    },
)


class DictionarySchema(AutoSchema):
    """Adds the error answers each operation can give: 422 (a body, a query parameter or a path id that
    does not validate), 400 (a conflict, or a body that does not parse), 404 (a path with an id), 403."""

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        answers: dict[str, Any] = {"422": INVALID}
        if self.method in ("POST", "PATCH"):
            answers["400"] = CONFLICT
        if "{" in self.path:
            answers["404"] = ERROR
        if self.method != "GET":
            answers["403"] = ERROR
        for code, serializer in answers.items():
            responses.setdefault(code, self._get_response_for_code(serializer, code, direction=direction))
        return responses


class UntypedJSONParser(SafeJSONParser):
    """A body sent without a Content-Type is read as JSON, as FastAPI read it (`requests.post(url, data=...)`)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return super().parse(stream, "application/json", parser_context)


class DictionaryWrites(IsAuthenticatedOrReadOnly):
    """Writes need a user or the admin token, unless VOCABULARY_PUBLIC_WRITES opens them (for deployments of
    the old MNIST service, whose dictionary was open and whose clients send no credentials)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(settings.VOCABULARY_PUBLIC_WRITES) or super().has_permission(request, view)


class DictionaryView(APIView):
    """Reads are open; writes need a signed-in user or the admin token (Bearer ADMIN_TOKEN), or
    VOCABULARY_PUBLIC_WRITES=1. Each view parses its input, calls a selector or a service, and answers."""

    permission_classes = [DictionaryWrites]
    parser_classes = [SafeJSONParser, UntypedJSONParser]
    schema = DictionarySchema()

    def handle_exception(self, exc: Exception) -> Response:
        return super().handle_exception(api_error(exc))

    def query(self, params: tuple[QueryParam, ...]) -> dict[str, Any]:
        return parse_query(self.request, params)

    def body(
        self,
        serializer_class: type[serializers.Serializer],
        *,
        many: bool = False,
        patch: bool = False,
        null_unchanged: bool = False,
        ignore_unknown: bool = False,
    ) -> Any:
        """The validated body; a PATCH refuses fields it cannot write unless `ignore_unknown` (as Hippo's first
        API, /vocabulary/, ignored them). A body that is not an object (or, with `many`, a list) is a 422 at
        ["body"]. With `null_unchanged`, a top-level `null` means "leave it", as the old service's all-Optional
        update shapes read it."""
        data = self.request.data
        if not isinstance(data, list if many else dict):
            kind = "a list" if many else "an object"
            raise errors.InvalidInput({"non_field_errors": [ErrorDetail(f"Input should be {kind}", code="invalid")]})
        if null_unchanged and isinstance(data, dict):  # a list body (`many`) has no top-level nulls to drop
            data = {key: value for key, value in data.items() if value is not None}
        serializer = serializer_class(
            data=data, many=many, partial=patch, context={"refuse_unknown": patch and not ignore_unknown}
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def page(self, queryset: Any, serializer_class: type[serializers.Serializer]) -> Response:
        paginator = EnvelopePagination()
        rows = paginator.paginate_queryset(queryset, self.request, view=self)
        # DRF's stubs type Serializer(many=True).data as a ReturnDict; it is a ListSerializer's ReturnList.
        return paginator.get_paginated_response(serializer_class(rows, many=True).data)  # type: ignore[arg-type]

    def answer(self, row: Any, serializer_class: type[serializers.Serializer], code: int = 200) -> Response:
        return Response(serializer_class(row).data, status=code)

    def gone(self) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)
