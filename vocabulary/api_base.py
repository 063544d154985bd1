"""What every vocabulary viewset shares: permissions, the envelope, error mapping and the CRUD skeleton.

Errors: a field that does not validate answers 422 `{"detail", "errors"}`; a uniqueness conflict 400
`{"detail", "duplicates"}` naming each one; a missing row 404. Nothing answers a bare 500.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import APIException, NotFound
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from atlas.parsers import SafeJSONParser
from vocabulary.errors import ConflictError, InvalidInput
from vocabulary.filters import QueryParam, openapi_parameters, parse_query
from vocabulary.pagination import EnvelopePagination


class UnprocessableEntity(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "invalid"

    def __init__(self, errors: Any) -> None:
        if isinstance(errors, dict) and errors and all(isinstance(key, int) for key in errors):
            detail = "Invalid input in item(s) " + ", ".join(str(key) for key in errors) + "."
        elif isinstance(errors, list) and errors and all(isinstance(item, dict) for item in errors):
            detail = "Invalid input in item(s) " + ", ".join(str(i) for i, item in enumerate(errors) if item) + "."
        elif isinstance(errors, dict):
            detail = "Invalid input: " + ", ".join(str(name) for name in errors) + "."
        else:
            detail = "Invalid input."
        super().__init__(detail)
        self.detail = {"detail": detail, "errors": errors}  # kept as is: indices stay integers


class Conflict(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "conflict"

    def __init__(self, message: str, duplicates: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.detail = {"detail": message, "duplicates": duplicates}  # kept as is: indices stay integers


def api_error(exc: Exception) -> Exception:
    """The API exception that answers a service or validation error; any other exception unchanged."""
    if isinstance(exc, serializers.ValidationError):
        return UnprocessableEntity(exc.detail)
    if isinstance(exc, InvalidInput):
        return UnprocessableEntity(exc.errors)
    if isinstance(exc, ConflictError):
        return Conflict(exc.message, exc.duplicates)
    if isinstance(exc, IntegrityError):
        return Conflict(f"The change conflicts with existing data; nothing was saved ({exc}).", [])
    return exc


_ERROR = inline_serializer("VocabularyError", {"detail": serializers.CharField()})
_INVALID = inline_serializer(
    "VocabularyInvalidInput", {"detail": serializers.CharField(), "errors": serializers.JSONField()}
)
_CONFLICT = inline_serializer(
    "VocabularyConflict",
    {
        "detail": serializers.CharField(),
        # A uniqueness conflict names its duplicates; a body that does not parse (bad JSON, too deep, a
        # NUL character) is a 400 with `detail` only.
        "duplicates": serializers.ListField(child=serializers.JSONField(), required=False),
    },
)


class VocabularySchema(AutoSchema):
    """Adds each viewset's query filters to its list operation and the error answers to every operation."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if getattr(self.view, "action", None) == "list":
            parameters += openapi_parameters(getattr(self.view, "filters", ()))
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors: dict[str, Any] = {}
        if self.method in ("POST", "PATCH"):
            errors |= {"400": _CONFLICT, "422": _INVALID}
        if self.method != "POST" or getattr(self.view, "detail", False):
            errors["404"] = _ERROR
        if getattr(self.view, "action", None) == "list":
            errors["422"] = _INVALID
        if self.method != "GET":
            errors["403"] = _ERROR
        for code, serializer in errors.items():
            responses.setdefault(code, self._get_response_for_code(serializer, code, direction=direction))
        return responses


class VocabularyWrites(IsAuthenticatedOrReadOnly):
    """Writes need a user or the admin token, unless VOCABULARY_PUBLIC_WRITES opens them (for deployments of
    the old MNIST service, whose dictionary was open and whose clients send no credentials)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(settings.VOCABULARY_PUBLIC_WRITES) or super().has_permission(request, view)


class VocabularyViewSet(viewsets.GenericViewSet):
    """Reads are open; writes need a signed-in user or the admin token (Bearer ADMIN_TOKEN), or
    VOCABULARY_PUBLIC_WRITES=1."""

    permission_classes = [VocabularyWrites]
    pagination_class = EnvelopePagination
    parser_classes = [SafeJSONParser]
    schema = VocabularySchema()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filters: tuple[QueryParam, ...] = ()

    def handle_exception(self, exc: Exception) -> Response:
        return super().handle_exception(api_error(exc))

    def get_object(self) -> Any:
        """The row, or a 404 whose detail says "<Model> <id> not found" (the MNIST service's wording)."""
        try:
            return super().get_object()
        except Http404:
            model = self.get_queryset().model.__name__
            raise NotFound(f"{model} {self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)} not found") from None

    def validated(self, data: Any, *, instance: Any = None, many: bool = False, partial: bool = False) -> Any:
        serializer = self.get_serializer(instance, data=data, many=many, partial=partial)
        if partial and isinstance(data, dict):  # a PATCH never ignores a field it cannot write
            writable = {name for name, field in serializer.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise InvalidInput({key: ["Unknown or read-only field; it cannot be changed."] for key in unknown})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def envelope(self, queryset: Any, **context: Any) -> Response:
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True, context={**self.get_serializer_context(), **context})
        return self.get_paginated_response(serializer.data)

    def fresh(self, row: Any) -> Any:
        """`row` read again with the prefetches of this viewset's queryset."""
        return self.get_queryset().get(pk=row.pk)


class CrudViewSet(VocabularyViewSet):
    """list / retrieve / create / partial_update / destroy, each a selector or a service call.

    A subclass names its `select` (selector taking its `filters`) and `create_row`, `update_row`,
    `delete_row` (service calls taking the serializer's validated data as keyword arguments).
    """

    def select(self, **filters: Any) -> Any:
        raise NotImplementedError

    def create_row(self, **data: Any) -> Any:
        raise NotImplementedError

    def update_row(self, row: Any, **data: Any) -> Any:
        raise NotImplementedError

    def delete_row(self, row: Any) -> None:
        raise NotImplementedError

    def list(self, request: Request) -> Response:
        return self.envelope(self.select(**parse_query(request, self.filters)))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        row = self.create_row(**self.validated(request.data))
        return Response(self.get_serializer(self.fresh(row)).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        row = self.get_object()
        row = self.update_row(row, **self.validated(request.data, instance=row, partial=True))
        return Response(self.get_serializer(self.fresh(row)).data)

    def destroy(self, request: Request, pk: str) -> Response:
        self.delete_row(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
