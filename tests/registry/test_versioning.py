"""Ordering of version strings."""

from __future__ import annotations

import pytest

from models_registry.versioning import is_valid_version, sort_versions


def test_versions_sort_semantically_newest_first():
    ordered = sort_versions(["v2.9.0", "v2.10.0", "v2.10.0-rc1", "v2.10.0+onnx", "1.0", "nightly"])

    assert ordered == ["v2.10.0+onnx", "v2.10.0", "v2.10.0-rc1", "v2.9.0", "1.0", "nightly"]


def test_numeric_pre_release_parts_compare_as_numbers():
    assert sort_versions(["1.0.0-rc.10", "1.0.0-rc.9"]) == ["1.0.0-rc.10", "1.0.0-rc.9"]


@pytest.mark.parametrize("text", ["1.0.0", "v2", "2026-11-22", "a_b+c.d"])
def test_folder_safe_versions_are_valid(text):
    assert is_valid_version(text)


@pytest.mark.parametrize("text", ["", "../x", "a/b", ".hidden", "x" * 65, "sp ace"])
def test_versions_that_are_not_folder_names_are_invalid(text):
    assert not is_valid_version(text)
