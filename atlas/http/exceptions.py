"""One JSON error shape for the API: DRF's `{"detail": ...}` plus field errors, never an HTML 500.

The mappings views would otherwise repeat live here, once: a refusal (`Refused`, e.g. the registry's
RegistryError) is a 422 (or its own status), a body that stopped arriving a 408, a body over the limit a 413, a
database that cannot be reached a 503 with `Retry-After` (outside DRF too: atlas.http.error_views.server_error),
anything unknown a logged JSON 500."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError, InterfaceError, OperationalError
from django.http import UnreadablePostError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("atlas")

# Errors of a database that cannot be reached (down, restarting, refusing connections), not of the request.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5


class Refused(Exception):
    """An operation refused for a reason its message states, to the client: answered `status_code` (422)
    `{"detail": message}`, plus `"error": error` when set. An app subclasses it
    (models_registry.errors.RegistryError) so that its views need not catch it."""

    status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY
    error: str | None = None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, Refused):  # e.g. the registry refused the operation; the view need not catch it
        body = {"detail": str(exc)} if exc.error is None else {"error": exc.error, "detail": str(exc)}
        return Response(body, status=exc.status_code)
    if isinstance(exc, UnreadablePostError):  # the client stopped sending its body (atlas.request_guard)
        return Response(unreadable_body(exc), status=status.HTTP_408_REQUEST_TIMEOUT)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "error": "too_large",
                "detail": f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
                "(ATLAS_MAX_REQUEST_MB).",
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response({"error": "bad_request", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):  # a value the database refuses: too long for its column, a NUL, ...
        return Response(
            {"error": "bad_request", "detail": "A value does not fit its field (too long, or a character refused)."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return Response(
            database_unavailable(exc),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    return Response(internal_error(exc, where=context.get("view").__class__.__name__), status=500)


def database_unavailable(exc: BaseException) -> dict[str, str]:
    """The 503's body while the database cannot be reached (logged without its traceback)."""
    logger.warning("database unavailable: %s: %s", type(exc).__name__, str(exc).strip())
    return {
        "error": "database_unavailable",
        "detail": "The database cannot be reached; retry shortly. Predictions of loaded models are still served.",
    }


def unreadable_body(exc: UnreadablePostError) -> dict[str, str]:
    """The 408's body: the client stopped sending (or sent too slowly) the body it declared."""
    return {"error": "body_timeout", "detail": str(exc) or "The request body could not be read."}


def internal_error(exc: Exception, *, where: str) -> dict[str, str]:
    """Anything DRF does not know: logged with its traceback, answered as this JSON body (a 500)."""
    logger.exception("unhandled error in %s", where, exc_info=exc)
    return {"detail": "Internal error; it has been logged.", "error": type(exc).__name__}
