"""The API's JSON parser: DRF's, plus two refusals that would otherwise be a 500 further in.

- JSON nested deeper than MAX_DEPTH (50,000 levels overflow Python's recursion limit while parsing;
  a few thousand overflow it while validating, rendering or storing);
- a NUL character in any string or key (PostgreSQL cannot store one in text or jsonb).
Both answer 400 `{"detail": "JSON parse error - ..."}`, DRF's shape for a body that does not parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 100


def check_json(data: Any) -> None:
    """ParseError if `data` nests deeper than MAX_DEPTH or holds a NUL character; iterative, no recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError("JSON parse error - a string holds a NUL character (\\u0000).")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise ParseError("JSON parse error - a key holds a NUL character (\\u0000).")
                stack.append((item, depth + 1))


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from None
        check_json(data)
        return data
