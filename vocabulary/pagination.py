"""The envelope every list endpoint answers: {"data", "total", "page", "page_size", "total_pages", "has_more"}."""

from __future__ import annotations

import math
from typing import Any

from rest_framework.exceptions import ErrorDetail
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from vocabulary.errors import InvalidInput
from vocabulary.filters import QueryError, parse_int

DEFAULT_PAGE_SIZE = 100  # the MNIST service's dictionary default
MAX_PAGE_SIZE = 1000


def _query_error(name: str, message: str, code: str) -> InvalidInput:
    return InvalidInput({name: [ErrorDetail(message, code=code)]}, location="query")


def _positive(raw: str | None, *, name: str, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse_int(raw)
    except QueryError as exc:
        raise _query_error(name, str(exc), exc.code) from None
    if value < 1:
        raise _query_error(name, "Input should be greater than or equal to 1", "greater_than_equal")
    return value


class EnvelopePagination(BasePagination):
    """`page` counts from 1; `page_size` defaults to 100 and may not exceed 1000 (more is refused with
    FastAPI's 422, never clamped, as the MNIST service did). A page past the last one is 200 with an empty
    `data`, its `total` and `total_pages` still true."""

    def paginate_queryset(self, queryset, request, view=None) -> list[Any]:
        page = _positive(request.query_params.get("page"), name="page", default=1)
        page_size = _positive(request.query_params.get("page_size"), name="page_size", default=DEFAULT_PAGE_SIZE)
        if page_size > MAX_PAGE_SIZE:
            raise _query_error("page_size", f"Input should be less than or equal to {MAX_PAGE_SIZE}", "less_than_equal")
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
