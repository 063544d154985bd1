"""A real, minimal runtime for registry tests: the artifact is JSON {"answer": <number>}.

It lets the registry's tests exercise fetch, verify, load and warm-up without the heavier runtimes.
A file whose JSON has "fail_warm_up": true loads but fails its warm-up; one with "raise": "MemoryError"
(or "OSError") fails its load the way a machine out of memory (or disk) does. One with "wait_for": <path>
creates <path>.loading and then loads only once <path> exists: a test holds a promotion mid-load with it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.waiting import wait_until


class AnswerPredictor:
    def __init__(self, payload: dict) -> None:
        self.answer = payload["answer"]
        self.fail_warm_up = payload.get("fail_warm_up", False)

    def warm_up(self) -> None:
        if self.fail_warm_up:
            raise RuntimeError("warm-up forward pass failed")

    def predict(self) -> object:
        return self.answer


def load(path: Path, *, metadata: dict) -> AnswerPredictor:
    payload = json.loads(Path(path).read_text())
    if "wait_for" in payload:
        release = Path(payload["wait_for"])
        Path(f"{release}.loading").touch()
        wait_until(release.exists, timeout=600, interval=0.05, what=f"{release} (the test releases the load)")
    if payload.get("raise") == "MemoryError":
        raise MemoryError()
    if payload.get("raise") == "OSError":
        raise OSError(28, "No space left on device")
    if "answer" not in payload:
        raise ValueError("not an answer file: the key 'answer' is missing")
    return AnswerPredictor(payload)
