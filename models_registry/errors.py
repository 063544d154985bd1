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


class PromotionTimeout(PromotionError):
    """A version's bytes could not be fetched within the deadline (a hung or very slow store): a 504."""

    status_code = 504
    error = "store_timeout"
