"""The Procfile's `worker:` line runs in production unless told otherwise (`manage.py` alone defaults to
development); `make run` exports ATLAS_ENV=development, which it keeps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _environment_of_the_worker_line(**env: str) -> str:
    """The ATLAS_ENV that the Procfile's worker command gives the Python it starts, run by a shell as honcho does."""
    line = next(line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    command = line.removeprefix("worker:").strip().split(" manage.py ")[0]  # the env prefix and `python`
    assert command.endswith("python")
    shown = subprocess.run(
        [
            "sh",
            "-c",
            f"{command.removesuffix('python')}{sys.executable} -c 'import os; print(os.environ[\"ATLAS_ENV\"])'",
        ],
        env={k: v for k, v in os.environ.items() if k != "ATLAS_ENV"} | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout.strip()


@pytest.mark.parametrize(("given", "expected"), [({}, "production"), ({"ATLAS_ENV": "development"}, "development")])
def test_the_worker_line_defaults_to_production_and_keeps_a_given_environment(given, expected):
    assert _environment_of_the_worker_line(**given) == expected
