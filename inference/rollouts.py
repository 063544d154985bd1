"""This worker's part in rollouts: which version answers a request, the shadow copies, and the counts.

- Canary: `choose_candidate` is a hash of the rollout id and the request's route key (the rollout's
  route header), so the same key gets the same version on every worker of every replica; a request
  without a key is drawn at random.
- Shadow: the stable predictor is wrapped (`Mirrored`) so each prediction call is also queued, off the
  response path, for the candidate's same method on one background thread; the queue is bounded
  (ATLAS_SHADOW_QUEUE) and a full queue drops the copy and counts it. `agreement` compares the two
  answers: the same class for classifiers, the same category for the rules, box overlap for the detector.
- `Counts` keeps this worker's cumulative figures per rollout; the listener flushes them to the
  registry (models_registry.services.rollouts.rollout_stats_save), where every worker's are summed.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import random
import threading
from bisect import bisect_left
from typing import Any

import numpy as np
from django.conf import settings

from models_registry.selectors import ROLLOUT_BUCKETS

logger = logging.getLogger(__name__)

# Prediction methods of the runtimes whose calls a shadow candidate sees.
MIRRORED_METHODS = frozenset({"predict", "activations", "detect", "classify", "classify_visual", "classify_audio"})


def choose_candidate(*, rollout_id: int, percent: float, key: str | None) -> bool:
    if key:
        digest = hashlib.sha256(f"{rollout_id}:{key}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * 100
    else:
        point = random.random() * 100  # noqa: S311 -- a traffic split, not a secret
    return point < percent


# --- counts ------------------------------------------------------------------------------------------


class Counts:
    """Cumulative per-rollout counts of this worker (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_rollout: dict[int, dict[str, Any]] = {}

    def _entry(self, rollout_id: int) -> dict[str, Any]:
        entry = self._by_rollout.get(rollout_id)
        if entry is None:
            empty: dict[str, Any] = {"requests": 0, "errors": 0, "buckets": [0] * (len(ROLLOUT_BUCKETS) + 1)}
            entry = {
                "stable": {**empty, "buckets": list(empty["buckets"])},
                "candidate": {**empty, "buckets": list(empty["buckets"])},
                "shadow": {"compared": 0, "agreed": 0, "dropped": 0, "errors": 0},
            }
            self._by_rollout[rollout_id] = entry
        return entry

    def request(self, rollout_id: int, role: str, *, error: bool, seconds: float) -> None:
        with self._lock:
            counts = self._entry(rollout_id)[role]
            counts["requests"] += 1
            counts["errors"] += int(error)
            counts["buckets"][bisect_left(ROLLOUT_BUCKETS, seconds)] += 1

    def shadow(self, rollout_id: int, field: str, agreed: bool = False) -> None:
        with self._lock:
            shadow = self._entry(rollout_id)["shadow"]
            shadow[field] += 1
            if field == "compared" and agreed:
                shadow["agreed"] += 1

    def clear(self) -> None:
        with self._lock:
            self._by_rollout.clear()

    def snapshot(self, running: set[int]) -> dict[int, dict[str, Any]]:
        """Copies of the counts of the rollouts still running; the others are forgotten."""
        with self._lock:
            for rollout_id in set(self._by_rollout) - running:
                del self._by_rollout[rollout_id]
            return {
                rid: {role: {k: (list(v) if isinstance(v, list) else v) for k, v in c.items()} for role, c in e.items()}
                for rid, e in self._by_rollout.items()
            }


counts = Counts()


# --- shadow --------------------------------------------------------------------------------------------


def _top_class(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return int(value.argmax()) if value.ndim == 1 else None
    if isinstance(value, list) and value and isinstance(value[-1], np.ndarray):  # activations: the output layer
        return int(value[-1].argmax())
    if isinstance(value, dict):
        for key in ("threat_category", "class_name", "category"):
            if key in value:
                return value[key]
    return None


def _iou(a: list[float], b: list[float]) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _boxes_agree(stable: list[dict[str, Any]], candidate: list[dict[str, Any]], threshold: float = 0.5) -> bool:
    """Every box of either answer is matched by a box of the same class with IoU >= threshold."""
    if len(stable) != len(candidate):
        return False
    unmatched = list(candidate)
    for box in stable:
        match = next(
            (c for c in unmatched if c.get("class") == box.get("class") and _iou(c["bbox"], box["bbox"]) >= threshold),
            None,
        )
        if match is None:
            return False
        unmatched.remove(match)
    return True


def agreement(stable: Any, candidate: Any) -> bool:
    if isinstance(stable, list) and all(isinstance(d, dict) and "bbox" in d for d in stable + list(candidate)):
        return _boxes_agree(stable, list(candidate))
    return _top_class(stable) is not None and _top_class(stable) == _top_class(candidate)


class ShadowRunner:
    """One daemon thread per worker that runs queued copies on the candidates."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[int, Any, str, tuple[Any, ...], dict[str, Any], Any]] | None = None
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def submit(
        self, rollout_id: int, candidate: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], answer: Any
    ) -> None:
        with self._guard:
            if self._queue is None or self._thread is None or not self._thread.is_alive():
                self._queue = queue.Queue(maxsize=settings.ATLAS_SHADOW_QUEUE)
                self._thread = threading.Thread(target=self._run, name="atlas-shadow", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((rollout_id, candidate, method, args, kwargs, answer))
        except queue.Full:
            counts.shadow(rollout_id, "dropped")

    def _run(self) -> None:
        assert self._queue is not None
        while True:
            item = self._queue.get()
            try:
                self._compare(*item)
            finally:
                self._queue.task_done()

    @staticmethod
    def _compare(
        rollout_id: int, candidate: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], answer: Any
    ) -> None:
        try:
            theirs = getattr(candidate, method)(*args, **kwargs)
        except Exception:  # the candidate failing is a figure, never the stable answer's problem
            logger.exception("shadow candidate failed in %s", method)
            counts.shadow(rollout_id, "errors")
            return
        try:
            counts.shadow(rollout_id, "compared", agreed=agreement(answer, theirs))
        except Exception:
            logger.exception("could not compare shadow answers of %s", method)

    def idle(self) -> bool:
        """True when no copy waits or runs (tests wait on it)."""
        return self._queue is None or self._queue.unfinished_tasks == 0


shadow_runner = ShadowRunner()


class Mirrored:
    """The stable predictor, whose prediction calls a shadow candidate also sees (off the response path)."""

    def __init__(self, stable: Any, candidate: Any, rollout_id: int) -> None:
        self._stable, self._candidate, self._rollout_id = stable, candidate, rollout_id

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._stable, name)
        if name not in MIRRORED_METHODS or not callable(attribute):
            return attribute

        def mirrored(*args: Any, **kwargs: Any) -> Any:
            answer = attribute(*args, **kwargs)
            shadow_runner.submit(self._rollout_id, self._candidate, name, args, kwargs, answer)
            return answer

        return mirrored
