"""The registry's errors (services.RegistryError and services.PromotionError are these)."""

from __future__ import annotations

from atlas.http.exceptions import Refused

from .redaction import without_paths


class RegistryError(Refused):
    """A registry operation was refused; the message says why and what to do (and names no folder of
    the server: it reaches API clients, as a 422)."""

    def __init__(self, message: str) -> None:
        super().__init__(without_paths(message))


class PromotionError(RegistryError):
    pass
