"""Which models this replica serves: ATLAS_SERVE_MODELS (comma-separated names or aliases; unset or empty: all).

A replica that does not serve a model never loads it (no preload, no reload on a promotion, no load on a
request), answers its endpoints 503 saying so, and leaves it out of its readiness. Other replicas serve it.

Under scripts/serve's slow pool (inference/slow_pool.py), a web worker leaves the models whose runtime has slow
methods to the pool (`left_to_pool`): it neither preloads them nor follows their promotions, and loads one
only when a request it had to answer itself needs it (the pool could not); from then on it keeps it current.
"""

from __future__ import annotations

from django.conf import settings

from models_registry import selectors

from . import slow_lane

_runtimes: dict[str, str] = {}  # name -> runtime: a model's runtime never changes once registered


def serves(name: str) -> bool:
    chosen = settings.ATLAS_SERVE_MODELS
    return not chosen or name in chosen or any(settings.ATLAS_MODEL_ALIASES.get(alias) == name for alias in chosen)


def left_to_pool(name: str, runtime: str | None = None) -> bool:
    """Whether this web worker leaves `name` to the slow pool (it has slow methods, and there is a pool)."""
    if not settings.ATLAS_SLOW_POOL_SOCKET or settings.ATLAS_SLOW_POOL_MEMBER:
        return False
    if runtime is None:
        runtime = _runtimes.get(name) or selectors.runtime_of(name)
        if runtime:
            _runtimes[name] = runtime
    return bool(runtime and slow_lane.slow_methods(runtime))


def forget_runtimes() -> None:
    _runtimes.clear()


def not_served_reason(name: str) -> str:
    return (
        f"This replica does not serve {name!r} (ATLAS_SERVE_MODELS={','.join(settings.ATLAS_SERVE_MODELS)}); "
        "send the request to a replica that serves it."
    )


def unknown_names() -> list[str]:
    """The names in ATLAS_SERVE_MODELS that are neither a registered model nor an alias of one (a typo, or a
    model not registered yet): logged at start, since such a replica serves less than its operator meant."""
    registered = selectors.registered_names()
    return [
        name
        for name in settings.ATLAS_SERVE_MODELS
        if name not in registered and settings.ATLAS_MODEL_ALIASES.get(name) not in registered
    ]
