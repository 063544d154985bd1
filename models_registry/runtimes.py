"""Resolving a runtime by name, the way Django resolves storage and cache backends.

The registry never imports `inference`; settings.ATLAS_RUNTIMES maps a runtime name to a loader:

    load(path: pathlib.Path, *, metadata: dict) -> predictor
    predictor.warm_up() -> None   # one real forward pass on a small made-up input

A runtime module may also define `check(path)`, which raises ValueError for a file it cannot serve;
registration calls it, so such a file is refused before it is ever recorded. It may also define
`signature(path, *, metadata, declared) -> Signature | None`: the version's inputs and outputs as the file
carries or implies them, checked against the `declared` one (ValueError when they contradict).

A loader raises any exception for a file it cannot serve; the registry reports it and keeps the
previous version serving.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class Predictor(Protocol):
    """What the registry needs of any runtime's predictor; each runtime adds its own methods
    (inference.runtimes: DigitClassifier, Detector, AudioClassifier, ThreatRules)."""

    def warm_up(self) -> None: ...


class Loader(Protocol):
    """A runtime module's `load(path, *, metadata)`."""

    def __call__(self, path: Path, *, metadata: dict[str, Any]) -> Predictor: ...


Checker = Callable[[Path], None]


def runtime_names() -> list[str]:
    return sorted(settings.ATLAS_RUNTIMES)


def get_loader(runtime: str) -> Loader:
    try:
        dotted = settings.ATLAS_RUNTIMES[runtime]
    except KeyError:
        raise ImproperlyConfigured(
            f"Unknown runtime {runtime!r}; settings.ATLAS_RUNTIMES has {', '.join(runtime_names())}."
        ) from None
    loader: Loader = import_string(dotted)
    return loader


def load_and_warm(runtime: str, path: Path, *, metadata: dict[str, Any]) -> Predictor:
    predictor = get_loader(runtime)(path, metadata=metadata)
    predictor.warm_up()
    return predictor


def check_file(runtime: str, path: Path) -> None:
    """Run the runtime's `check(path)` when its module has one; ValueError names what is wrong."""
    dotted = settings.ATLAS_RUNTIMES.get(runtime)
    if not dotted:
        return
    try:
        checker: Checker = import_string(dotted.rsplit(".", 1)[0] + ".check")
    except ImportError:
        return
    checker(path)


def read_signature(runtime: str, path: Path, *, metadata: dict[str, Any], declared: Any) -> Any:
    """The signature to record: the runtime's `signature(...)` when its module has one, else `declared`."""
    dotted = settings.ATLAS_RUNTIMES.get(runtime)
    if not dotted:
        return declared
    try:
        reader = import_string(dotted.rsplit(".", 1)[0] + ".signature")
    except ImportError:
        return declared
    return reader(path, metadata=metadata, declared=declared)
