"""What the vocabulary services raise; the API maps them to 400 (conflict) and 422 (invalid input)."""

from __future__ import annotations

from typing import Any


class VocabularyError(Exception):
    """Base of the errors the vocabulary services raise on purpose."""


class ConflictError(VocabularyError):
    """A uniqueness conflict (HTTP 400). `duplicates` names every conflicting item."""

    def __init__(self, message: str, *, duplicates: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.duplicates = duplicates or []


class InvalidInput(VocabularyError):
    """Input that names something that does not fit (HTTP 422); `errors` maps field -> messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors
