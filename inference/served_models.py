"""Which models this replica serves: ATLAS_SERVE_MODELS, comma-separated names or aliases; unset or empty: all.
A name with a leading `-` is left out (`-visual_detector,-audio_classifier`: every model but those, including
models registered later, as the split deployment's web service takes it).

A replica that does not serve a model never loads it (no preload, no reload on a promotion, no load on a
request), answers its endpoints 503 saying so, and leaves it out of its readiness. Other replicas serve it.
"""

from __future__ import annotations

from django.conf import settings

from models_registry import selectors


def _names(chosen: list[str], name: str) -> bool:
    return name in chosen or any(settings.ATLAS_MODEL_ALIASES.get(alias) == name for alias in chosen)


def serves(name: str) -> bool:
    chosen = settings.ATLAS_SERVE_MODELS
    left_out = [entry[1:] for entry in chosen if entry.startswith("-")]
    included = [entry for entry in chosen if not entry.startswith("-")]
    return not _names(left_out, name) and (not included or _names(included, name))


def not_served_reason(name: str) -> str:
    return (
        f"This replica does not serve {name!r} (ATLAS_SERVE_MODELS={','.join(settings.ATLAS_SERVE_MODELS)}); "
        "send the request to a replica that serves it."
    )


def unknown_names() -> list[str]:
    """The names in ATLAS_SERVE_MODELS that are neither a registered model nor an alias of one (a typo, or a
    model not registered yet): logged at start, since such a replica serves less than its operator meant."""
    registered = selectors.registered_names()
    names = [entry.removeprefix("-") for entry in settings.ATLAS_SERVE_MODELS]
    return [
        name for name in names if name not in registered and settings.ATLAS_MODEL_ALIASES.get(name) not in registered
    ]
