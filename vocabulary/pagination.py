"""The envelope every /v1/dictionary/ list answers: {"data", "total", "page", "page_size", "total_pages",
"has_more"}; and the `skip`/`limit` window of the JSON arrays Hippo's first API (/vocabulary/) answered."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ErrorDetail
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from vocabulary.errors import InvalidInput
from vocabulary.filters import QueryError, parse_int

DEFAULT_PAGE_SIZE = 100  # the MNIST service's dictionary default
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 2**62  # far past any table; below every database's largest OFFSET


def _query_error(name: str, message: str, code: str) -> InvalidInput:
    return InvalidInput({name: [ErrorDetail(message, code=code)]}, location="query")


def _bounded(request: Request, name: str, *, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = parse_int(raw)
    except QueryError as exc:
        raise _query_error(name, str(exc), exc.code) from None
    if value < low:
        raise _query_error(name, f"Input should be greater than or equal to {low}", "greater_than_equal")
    if high is not None and value > high:
        raise _query_error(name, f"Input should be less than or equal to {high}", "less_than_equal")
    return value


class EnvelopePagination(BasePagination):
    """`page` counts from 1; `page_size` defaults to 100 and may not exceed 1000 (more is refused with
    FastAPI's 422, never clamped, as the MNIST service did). A page past the last one is 200 with an empty
    `data`, its `total` and `total_pages` still true."""

    def paginate_queryset(self, queryset, request, view=None) -> list[Any]:
        page = _bounded(request, "page", default=1, low=1)
        page_size = _bounded(request, "page_size", default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
        self.total = queryset.count()
        self.total_pages = math.ceil(self.total / page_size)
        self.page, self.page_size = page, page_size
        if (page - 1) * page_size >= self.total:  # past the end: no query (a huge page would not even slice)
            return []
        return list(queryset[(page - 1) * page_size : page * page_size])

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            {
                "data": data,
                "total": self.total,
                "page": self.page,
                "page_size": self.page_size,
                "total_pages": self.total_pages,
                "has_more": self.page < self.total_pages,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        integer = {"type": "integer"}
        return {
            "type": "object",
            "required": ["data", "total", "page", "page_size", "total_pages", "has_more"],
            "properties": {
                "data": schema,
                "total": {**integer, "example": 123, "description": "Rows matching the filters, all pages."},
                "page": {**integer, "example": 1},
                "page_size": {**integer, "example": DEFAULT_PAGE_SIZE},
                "total_pages": {**integer, "example": 3, "description": "0 when nothing matches."},
                "has_more": {"type": "boolean", "description": "Whether a later page exists."},
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1. Past the last page: an empty `data`. Below 1: 422.",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Rows per page, at most {MAX_PAGE_SIZE}; a larger value answers 422 (not clamped).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
            },
        ]


# --- Hippo's first API (/vocabulary/): a JSON array, a window of `skip` rows then at most `limit` ---------

SKIP_LIMIT_PARAMETERS = [
    OpenApiParameter(
        "skip",
        {"type": "integer", "minimum": 0, "default": 0},
        OpenApiParameter.QUERY,
        description="Rows to skip, from 0.",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
        OpenApiParameter.QUERY,
        description=f"Rows to answer at most, 1 to {MAX_PAGE_SIZE}; more is a 422 (not clamped).",
    ),
]


def skip_limit_window(queryset: QuerySet[Any], request: Request) -> list[Any]:
    """The rows `skip` and `limit` name (FastAPI's 422 for a value out of bounds); a `skip` past any table's
    size answers no row without asking the database (whose OFFSET stops at 2**63 - 1)."""
    skip = _bounded(request, "skip", default=0, low=0)
    limit = _bounded(request, "limit", default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    return [] if skip > MAX_OFFSET else list(queryset[skip : skip + limit])
