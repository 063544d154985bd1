"""A settings module for a process a test starts: `base` with some settings changed, the way a deployment
changes a tuning setting that is not an environment variable (docs/OPERATIONS.md, "Tuning settings")."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULE = "atlas_test_settings"


def settings_env(folder: Path, base: str, changed: dict[str, object]) -> dict[str, str]:
    """The variables that run a process on `base` with `changed` (setting -> value, a literal) written over it."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"from {base} import *  # noqa: F403", *(f"{name} = {value!r}" for name, value in changed.items())]
    (folder / f"{MODULE}.py").write_text("\n".join(lines) + "\n")
    return {"DJANGO_SETTINGS_MODULE": MODULE, "PYTHONPATH": os.pathsep.join([str(folder), str(REPO)])}
