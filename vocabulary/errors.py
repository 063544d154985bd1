"""What the vocabulary services raise; the API maps them to 400 (conflict), 404 and 422 (invalid input)."""

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
    """Input that does not fit (HTTP 422). `errors` maps field -> messages (nested like a serializer's
    errors); `location` is where the fields are: "body", "query" or "path" (FastAPI's first `loc` item)."""

    def __init__(self, errors: dict[str, Any], *, location: str = "body") -> None:
        super().__init__(str(errors))
        self.errors = errors
        self.location = location


class NotFound(VocabularyError):
    """A row that does not exist (HTTP 404); the message says "... not found", as the MNIST service's did."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
