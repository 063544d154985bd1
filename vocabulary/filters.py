"""The query parameters of the dictionary's endpoints, as the MNIST service (FastAPI) read them: parsed once,
checked (a 422 whose `loc` is ["query", name]), documented.

Each endpoint lists its `QueryParam`s; `parse_query` turns the request's values into typed keyword
arguments, `openapi_parameters` describes them to drf-spectacular.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request

from vocabulary.errors import InvalidInput

MAX_ID = 2**63 - 1  # the largest value of a BigAutoField
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}  # pydantic's spellings of a boolean


class QueryError(ValueError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def parse_int(raw: str) -> int:
    text = raw.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise QueryError("Input should be a valid integer, unable to parse string as an integer", "int_parsing")
    if len(digits.lstrip("0")) > 4000:  # int() refuses 4,300 digits; far past any id or page: just past int64
        return -(2**63) - 1 if text.startswith("-") else 2**63
    return int(text)


@dataclass(frozen=True)
class QueryParam:
    name: str
    kind: str  # "id" (an integer; only positive ones match a row), "text", "bool"
    description: str
    default: Any = None

    def parse(self, raw: str) -> Any:
        if self.kind == "id":
            value = parse_int(raw)
            return value if 1 <= value <= MAX_ID else 0  # no row has it (and every database can compare 0)
        if self.kind == "bool":
            word = raw.strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise QueryError("Input should be a valid boolean, unable to interpret input", "bool_parsing")
        return raw

    def openapi(self) -> OpenApiParameter:
        kind = {"id": OpenApiTypes.INT, "bool": OpenApiTypes.BOOL}.get(self.kind, OpenApiTypes.STR)
        return OpenApiParameter(
            self.name, kind, OpenApiParameter.QUERY, description=self.description, default=self.default
        )


def parse_query(request: Request, params: Sequence[QueryParam]) -> dict[str, Any]:
    """Keyword arguments: each parameter's typed value, or its default when absent or empty."""
    values: dict[str, Any] = {}
    errors: dict[str, list[ErrorDetail]] = {}
    for param in params:
        raw = request.query_params.get(param.name, "")
        try:
            values[param.name] = param.parse(raw) if raw.strip() else param.default
        except QueryError as exc:
            errors[param.name] = [ErrorDetail(str(exc), code=exc.code)]
    if errors:
        raise InvalidInput(errors, location="query")
    return values


def openapi_parameters(params: Sequence[QueryParam]) -> list[OpenApiParameter]:
    return [param.openapi() for param in params]


def includes(params: dict[str, Any]) -> bool:
    """Whether a word is answered with its parts (the old `WordFull`) rather than alone (`WordOut`)."""
    flags = [params.pop(name) for name in ("include_all", "include_definitions", "include_tags")]
    return any(flags)


def _include(default: bool) -> tuple[QueryParam, ...]:
    return (
        QueryParam("include_all", "bool", "Answer each word with its definitions, tags and forms.", default),
        QueryParam("include_definitions", "bool", "Answer each word with its parts (as include_all).", False),
        QueryParam("include_tags", "bool", "Answer each word with its parts (as include_all).", False),
    )


WORD_LIST_FILTERS = (
    QueryParam("search", "text", "Case-insensitive prefix of the word or of any of its forms."),
    QueryParam("language", "text", "Language code, exact (e.g. 'en')."),
    *_include(False),
)
WORD_READ_FILTERS = _include(False)
WORD_BY_TEXT_FILTERS = _include(True)
TAG_FILTERS = (QueryParam("search", "text", "Case-insensitive prefix of the tag name."),)
RELATION_FILTERS = (
    QueryParam("word_id", "id", "Relations where this word is at either end."),
    QueryParam("relation_type", "text", "Only this type of relation (synonym, antonym, ...)."),
)
DEFINITION_FILTERS = (QueryParam("word_id", "id", "Only the definitions of this word."),)
EXAMPLE_FILTERS = (QueryParam("definition_id", "id", "Only the examples of this definition."),)
