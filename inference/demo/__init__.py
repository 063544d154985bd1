"""Demo models that `manage.py seed_demo` registers so every endpoint answers after `make run`.

Each module here has `build(dest_dir: Path) -> DemoArtifact`, making a real, loadable artifact from
data that ships with the installed packages (no network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DemoArtifact:
    model_name: str  # e.g. "digit_classifier"
    runtime: str  # a key of settings.ATLAS_RUNTIMES
    path: Path  # the file to register
    version: str = "1.0.0"
    description: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # measured while building, never typed
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    also: tuple[DemoArtifact, ...] = ()  # further versions seed_demo registers beside this one, not active
