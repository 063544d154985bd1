"""The query parameters of the list endpoints: parsed once, checked (422 naming the parameter), documented.

A tiny stand-in for django-filter (not installed): each endpoint lists its `QueryParam`s; `parse_query`
turns the request's values into typed keyword arguments for a selector, `openapi_parameters` describes
them to drf-spectacular.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from vocabulary.errors import InvalidInput
from vocabulary.models import RelationType
from vocabulary.selectors import WORD_INCLUDES

MAX_ID = 2**63 - 1  # the largest value of a BigAutoField


@dataclass(frozen=True)
class QueryParam:
    name: str
    kind: str  # "id" (a positive integer), "text", "choice" (one of `choices`) or "list" (comma-separated choices)
    description: str
    choices: tuple[str, ...] = ()

    def parse(self, raw: str) -> Any:
        if self.kind == "id":
            if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
                raise ValueError(f"'{raw}' is not a positive integer.")
            if int(raw) > MAX_ID:  # the database could not even compare it (SQLite: OverflowError, a 500)
                raise ValueError(f"'{raw}' is larger than any id ({MAX_ID}).")
            return int(raw)
        if self.kind == "choice":
            if raw not in self.choices:
                raise ValueError(f"'{raw}' is not one of: {', '.join(self.choices)}.")
            return raw
        if self.kind == "list":
            values = [value.strip() for value in raw.split(",") if value.strip()]
            unknown = [value for value in values if value not in self.choices]
            if unknown:
                raise ValueError(f"Unknown value(s) {', '.join(unknown)}; choose from: {', '.join(self.choices)}.")
            return tuple(dict.fromkeys(values))
        return raw.strip()

    def openapi(self) -> OpenApiParameter:
        kind = OpenApiTypes.INT if self.kind == "id" else OpenApiTypes.STR
        return OpenApiParameter(
            self.name,
            kind,
            OpenApiParameter.QUERY,
            description=self.description,
            enum=list(self.choices) if self.kind == "choice" else None,
        )


def parse_query(request: Request, params: Sequence[QueryParam]) -> dict[str, Any]:
    """Keyword arguments for a selector: each parameter's typed value, or None when absent or empty."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for param in params:
        raw = request.query_params.get(param.name, "")
        try:
            values[param.name] = param.parse(raw) if raw.strip() else None
        except ValueError as exc:
            errors[param.name] = [str(exc)]
    if errors:
        raise InvalidInput(errors)
    return values


def openapi_parameters(params: Sequence[QueryParam]) -> list[OpenApiParameter]:
    return [param.openapi() for param in params]


WORD_ID = QueryParam("word_id", "id", "Only the rows of this word.")
WORD_FILTERS = (
    QueryParam("search", "text", "Case-insensitive prefix of the word or of any of its forms."),
    QueryParam("language", "text", "Language code, exact (e.g. 'en')."),
    QueryParam(
        "include",
        "list",
        "Comma-separated related rows to embed: definitions (with their examples), tags, forms.",
        choices=WORD_INCLUDES,
    ),
)
DEFINITION_FILTERS = (WORD_ID,)
EXAMPLE_FILTERS = (QueryParam("definition_id", "id", "Only the examples of this definition."), WORD_ID)
TAG_FILTERS = (QueryParam("search", "text", "Case-insensitive prefix of the tag name."), WORD_ID)
RELATION_FILTERS = (
    QueryParam("word_id", "id", "Relations where this word is at either end."),
    QueryParam("from_word_id", "id", "Relations from this word."),
    QueryParam("to_word_id", "id", "Relations to this word."),
    QueryParam("relation_type", "choice", "Only this type of relation.", choices=tuple(RelationType.values)),
)
