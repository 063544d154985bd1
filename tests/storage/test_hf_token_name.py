"""The Hub token is read under the MNIST service's name, HUGGINGFACE_TOKEN, and under huggingface_hub's own,
HF_TOKEN, which that service honoured through the library: each case is the settings imported in a fresh
process."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def token_with(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in {"HF_TOKEN", "HUGGINGFACE_TOKEN"}}
    code = "import atlas.settings as s; print(s.HUGGINGFACE_TOKEN)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=base | {"ATLAS_ENV": "development"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_hf_token_alone_is_the_token():
    assert token_with(HF_TOKEN="hf_library_name") == "hf_library_name"


def test_huggingface_token_wins_over_hf_token():
    assert token_with(HF_TOKEN="hf_library_name", HUGGINGFACE_TOKEN="hf_service_name") == "hf_service_name"
