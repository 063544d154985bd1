"""Small helpers for the storage tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def make_file(tmp_path):
    """make_file(name, size=..., content=...) -> Path of a file with random (or given) bytes."""

    def make(name: str, *, size: int = 1024, content: bytes | None = None) -> Path:
        path = tmp_path / "sources" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size) if content is None else content)
        return path

    return make
