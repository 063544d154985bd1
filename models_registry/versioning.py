"""Ordering of version strings: semantic where they parse (v2.10.0 > v2.9.0), text otherwise."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

_SEMVER = re.compile(
    r"^[vV]?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$"
_VERSION_TEXT = re.compile(VERSION_PATTERN)

T = TypeVar("T")


def is_valid_version(text: str) -> bool:
    """A version is 1-64 characters of letters, digits and . _ + -, starting with a letter or digit.

    It becomes a folder name in every store, so nothing else is allowed.
    """
    return bool(_VERSION_TEXT.match(text))


def version_key(text: str) -> tuple[Any, ...]:
    """A sort key: every semantic version sorts above every non-semantic one, pre-releases below
    their release (1.0.0-rc1 < 1.0.0), numeric pre-release parts numerically, and build metadata
    after its plain release (1.0.0 < 1.0.0+onnx), so `latest` prefers a release's ONNX export."""
    match = _SEMVER.match(text)
    if not match:
        return (0, text)
    numbers = tuple(int(match.group(part) or 0) for part in ("major", "minor", "patch"))
    pre = match.group("pre")
    if pre is None:
        pre_key: tuple[Any, ...] = (1,)
    else:
        pre_key = (
            0,
            tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")),
        )
    return (1, numbers, pre_key, match.group("build") or "")


@overload
def sort_versions(items: Iterable[str], *, newest_first: bool = True) -> list[str]: ...


@overload
def sort_versions(items: Iterable[T], *, key: Callable[[T], str], newest_first: bool = True) -> list[T]: ...


def sort_versions(
    items: Iterable[Any], *, key: Callable[[Any], str] = lambda item: item, newest_first: bool = True
) -> list[Any]:
    return sorted(items, key=lambda item: version_key(key(item)), reverse=newest_first)
