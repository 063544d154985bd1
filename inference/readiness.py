"""Platform health checks, tokenless: GET /livez (the process is up) and GET /readyz (every active
model this replica serves (ATLAS_SERVE_MODELS) is loaded here, at its active version, and the database
answers)."""

from __future__ import annotations

from typing import Any

from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from models_registry import selectors

from . import model_cache, served_models


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def model_states() -> dict[str, dict[str, Any]]:
    """Per active model this replica serves (ATLAS_SERVE_MODELS): what this process serves, and whether that
    is the registry's active version. Raises DatabaseError when the registry cannot be read."""
    loaded = model_cache.snapshot()
    failures = model_cache.failures()
    states: dict[str, dict[str, Any]] = {}
    for name, active_id in selectors.active_version_ids().items():
        if active_id is None or not served_models.serves(name):
            continue  # nothing to serve, or another replica serves it (ATLAS_SERVE_MODELS)
        entry = loaded.get(name)
        failure = failures.get(name)
        states[name] = {
            "serving": entry.version if entry else None,
            "on_active": entry is not None and entry.version_id == active_id,
            "error": failure.error if failure and failure.version_id == active_id else None,
        }
    return states


def outage_states() -> dict[str, dict[str, Any]]:
    """While the registry is unreachable: what this process serves, and from where: `"registry"` (loaded
    before the outage) or `"last_known_pointer"` (models_registry.last_known, loaded during it)."""
    failures = model_cache.failures()
    states: dict[str, dict[str, Any]] = {}
    for name, entry in model_cache.snapshot().items():
        failure = failures.get(name)
        states[name] = {
            "serving": entry.version,
            "on_active": None,  # unknown until the registry answers
            "error": failure.error if failure else None,
            "source": "last_known_pointer" if entry.from_last_known else "registry",
        }
    return states


@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


def decide() -> tuple[bool, dict[str, Any]]:
    """Whether this process is ready, and what /readyz says of it (/v2/health/ready answers the same)."""
    database = database_reachable()
    models: dict[str, dict[str, Any]] = {}
    if database:
        try:
            models = model_states()
        except DatabaseError:
            database = False
    ready = database and all(state["on_active"] for state in models.values())
    status = "ready" if ready else "not_ready"
    if not database:  # the registry cannot say what is active: serve what is loaded (docs/OPERATIONS.md)
        models = outage_states()
        ready = bool(models) and all(state["error"] is None for state in models.values())
        status = "serving_last_known" if ready else "not_ready"
    body: dict[str, Any] = {"status": status, "database_connected": database, "models": models}
    if not database:
        body["registry"] = "unreachable"
    return ready, body


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    ready, body = decide()
    return JsonResponse(body, status=200 if ready else 503)


urlpatterns = [
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
]
