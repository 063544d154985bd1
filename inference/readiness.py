"""Platform health checks, tokenless: GET /livez (the process is up) and GET /readyz (every active
model this replica serves (ATLAS_SERVE_MODELS) is loaded here, at its active version, and the database
answers). Under scripts/serve, the models a web worker leaves to the slow pool are the pool's state, and
`slow_pool` says whether the pool answers (when it does not, the web worker answers those models itself)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from models_registry import selectors

from . import model_cache, pool_cpus, served_models, slow_pool


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def model_states(pool_models: dict[str, Any] | None = None, *, pool_awaited: bool = False) -> dict[str, dict[str, Any]]:
    """Per active model this replica serves (ATLAS_SERVE_MODELS): what this process serves, and whether that
    is the registry's active version. Raises DatabaseError when the registry cannot be read.

    A model a web worker leaves to the slow pool and has not loaded: the pool's state (`pool_models`, its own
    /readyz `models`), marked `"in": "slow pool"`; when the pool cannot be asked, `on_active` is None and the
    model does not count against readiness: while the pool is awaited (`pool_awaited`: no request has found
    it silent yet, or the first did less than ATLAS_SLOW_POOL_WAIT ago) requests wait for it, `"in": "slow
    pool, awaited"`; after that this worker loads the model for the first request that needs it, `"in":
    "this worker, on demand"`."""
    loaded = model_cache.snapshot()
    failures = model_cache.failures()
    states: dict[str, dict[str, Any]] = {}
    for name, active_id in selectors.active_version_ids().items():
        if active_id is None or not served_models.serves(name):
            continue  # nothing to serve, or another replica serves it (ATLAS_SERVE_MODELS)
        entry = loaded.get(name)
        if entry is None and served_models.left_to_pool(name):
            states[name] = _in_pool(name, pool_models, pool_awaited)
            continue
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


def _in_pool(name: str, pool_models: dict[str, Any] | None, awaited: bool) -> dict[str, Any]:
    if pool_models is None:
        where = "slow pool, awaited" if awaited else "this worker, on demand"
        return {"serving": None, "on_active": None, "error": None, "in": where}
    state = pool_models.get(name)
    if not isinstance(state, dict):
        return {"serving": None, "on_active": False, "error": "the slow pool does not serve it", "in": "slow pool"}
    return {
        "serving": state.get("serving"),
        "on_active": state.get("on_active") is True,
        "error": state.get("error"),
        "in": "slow pool",
    }


@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    database = database_reachable()
    pool, pool_models = None, None
    if settings.ATLAS_SLOW_POOL_SOCKET and not settings.ATLAS_SLOW_POOL_MEMBER:
        pool, pool_models = slow_pool.readiness(request.get_host())
    models: dict[str, dict[str, Any]] = {}
    if database:
        try:
            models = model_states(pool_models, pool_awaited=bool(pool and pool["awaited"]))
        except DatabaseError:
            database = False
    ready = database and all(state["on_active"] is not False for state in models.values())
    status = "ready" if ready else "not_ready"
    if not database:  # the registry cannot say what is active: serve what is loaded (docs/OPERATIONS.md)
        models = outage_states()
        ready = bool(models) and all(state["error"] is None for state in models.values())
        status = "serving_last_known" if ready else "not_ready"
    body: dict[str, Any] = {"status": status, "database_connected": database, "models": models}
    if not database:
        body["registry"] = "unreachable"
    if pool is not None:  # scripts/serve's slow pool: whether it answers (without it, this worker does)
        body["slow_pool"] = pool
    if settings.ATLAS_SLOW_POOL_MEMBER:  # the CPUs scripts/serve pinned it to (inference/pool_cpus.py)
        body["cpus"] = sorted(pool_cpus.allowed())
    return JsonResponse(body, status=200 if ready else 503)


urlpatterns = [
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
]
