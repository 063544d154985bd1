"""Golden inputs: a version may carry inputs with the answers they must give. Promotion and the start of
a rollout run them on the trial-loaded predictor and refuse the version at the first mismatch.

An entry is `{"input": {request body}, "expected": {fields of the answer}, "tolerance": 1e-6}`. Expected
fields are compared recursively: numbers within the tolerance (absolute), strings, booleans and whole
numbers exactly, lists element by element, objects key by key (only the keys given). The runtime's
answer function (settings.ATLAS_GOLDEN_ANSWERS, resolved by name like the loaders) turns the input
into the answer a client would get.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_TOLERANCE = 1e-6


class GoldenError(ValueError):
    """A golden set that is not well formed."""


class GoldenMismatch(Exception):
    def __init__(self, message: str, *, figures: dict[str, Any]) -> None:
        super().__init__(message)
        self.figures = figures


def validate(entries: Any) -> list[dict[str, Any]]:
    """The golden set, checked for shape; GoldenError names the first problem."""
    if not isinstance(entries, list) or not entries:
        raise GoldenError('A golden set is a non-empty JSON list of {"input": ..., "expected": ...}.')
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("expected"), dict) or "input" not in entry:
            raise GoldenError(f'Entry {index} needs "input" and "expected" (an object of answer fields).')
        tolerance = entry.get("tolerance", DEFAULT_TOLERANCE)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance < math.inf:
            raise GoldenError(f"Entry {index}: tolerance must be a number of 0 or more.")
    return entries


def read(path: Path) -> list[dict[str, Any]]:
    try:
        return validate(json.loads(Path(path).read_text()))
    except (OSError, ValueError) as exc:
        if isinstance(exc, GoldenError):
            raise
        raise GoldenError(f"{path} is not a readable JSON golden set: {exc}") from None


def _differences(expected: Any, actual: Any, tolerance: float, where: str) -> str | None:
    """The first place `actual` does not give what `expected` asks, or None."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where or 'the answer'} is {type(actual).__name__}, expected an object"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}{'.' if where else ''}{key} is missing from the answer"
            found = _differences(value, actual[key], tolerance, f"{where}{'.' if where else ''}{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list | tuple) or len(actual) != len(expected):
            given = len(actual) if isinstance(actual, list | tuple) else "no"
            return f"{where} has {given} items, expected {len(expected)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = _differences(want, got, tolerance, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(expected, float) and isinstance(actual, int | float) and not isinstance(actual, bool):
        if abs(float(actual) - expected) <= tolerance:
            return None
        return f"{where} is {actual!r}, expected {expected!r} ± {tolerance:g}"
    if expected != actual or type(expected) is bool and type(actual) is not bool:
        return f"{where} is {actual!r}, expected {expected!r}"
    return None


def run(*, runtime: str, predictor: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Run every entry; GoldenMismatch at the first failure. Returns the figures (entries passed)."""
    dotted = settings.ATLAS_GOLDEN_ANSWERS.get(runtime)
    if dotted is None:
        raise GoldenMismatch(
            f"Runtime {runtime!r} has no golden answer function (settings.ATLAS_GOLDEN_ANSWERS).",
            figures={"passed": 0, "total": len(entries)},
        )
    answer = import_string(dotted)
    for index, entry in enumerate(entries):
        try:
            actual = answer(predictor, entry["input"])
        except Exception as exc:  # the input itself is refused, or the predictor fails on it
            raise GoldenMismatch(
                f"golden entry {index}: the input gave an error: {type(exc).__name__}: {exc}",
                figures={"passed": index, "total": len(entries), "entry": index, "error": str(exc)[:500]},
            ) from exc
        tolerance = float(entry.get("tolerance", DEFAULT_TOLERANCE))
        found = _differences(entry["expected"], actual, tolerance, "")
        if found:
            raise GoldenMismatch(
                f"golden entry {index}: {found}",
                figures={"passed": index, "total": len(entries), "entry": index, "mismatch": found},
            )
    return {"passed": len(entries), "total": len(entries)}
