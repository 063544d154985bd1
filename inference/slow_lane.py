"""The slow lane: a long prediction (a detection, an audio classification: 30-300 ms of CPU) runs on a
low-priority thread of its own in each worker process, so that a fast model's requests (digits, threat
rules: well under a millisecond) keep getting the CPU while slow ones are under way.

A runtime names its slow methods in its module, as a literal (`SLOW_METHODS = ("detect",)`, read from the
source without importing the module when it is not imported yet); the model cache wraps such
a predictor in `SlowPredictor`, whose slow methods wait for the lane and whose other attributes are the
predictor's own. The lane is ATLAS_SLOW_LANE_THREADS threads per process (1 by default: at most one slow
prediction computes at a time in a worker; the others queue), each lowered to nice ATLAS_SLOW_LANE_NICE
(10 by default; 0 leaves the priority alone) and, with ATLAS_SLOW_LANE_IDLE=1 on Linux, put in the
SCHED_IDLE scheduling class: it gets the CPU that no normal thread wants, and a request that wakes up
preempts it at once. Off by default: a lane thread preempted while it holds the GIL, on a machine whose
cores are all busy, would hold up its worker's fast requests. torch's compute threads, started from the
lane, inherit both. Lowering a
thread's priority needs no privilege; it is never raised back, so the lane's threads are used for
nothing else.

When the lane starts, the process hands the GIL between threads every ATLAS_GIL_SWITCH_MS (1 ms) instead of
Python's 5 ms: a slow prediction's Python parts (pre- and post-processing) hold the GIL, and a fast request
waiting for it waited up to the whole interval.

It only helps workers that take several requests at once (granian's threads, the default; gunicorn
gthread): a sync worker holds one request at a time whatever its priority. docs/PERFORMANCE.md measures
them (bench/mixed_load.py).
"""

from __future__ import annotations

import ast
import contextvars
import functools
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def lower_this_thread(nice: int, *, idle: bool, what: str) -> None:
    """Lower the calling thread's CPU priority (on Linux a thread's own): to `nice` unless it is lower already
    (never raised), and into the SCHED_IDLE class when `idle`. Threads it starts inherit both."""
    tid = threading.get_native_id()
    if nice > 0 and hasattr(os, "setpriority"):
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError as exc:
            logger.warning("%s could not lower its priority (%s); it runs at normal priority", what, exc)
    if idle and hasattr(os, "sched_setscheduler"):
        try:  # SCHED_IDLE: the CPU goes to it when no normal thread wants it, and a waking request preempts it
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:
            logger.warning("%s could not take the idle scheduling class (%s)", what, exc)


def _lower_priority() -> None:
    lower_this_thread(settings.ATLAS_SLOW_LANE_NICE, idle=settings.ATLAS_SLOW_LANE_IDLE, what="the slow lane")


def _lane() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            if settings.ATLAS_GIL_SWITCH_MS > 0:
                sys.setswitchinterval(settings.ATLAS_GIL_SWITCH_MS / 1000)
            _executor = ThreadPoolExecutor(
                max_workers=max(1, settings.ATLAS_SLOW_LANE_THREADS),
                thread_name_prefix="atlas-slow-lane",
                initializer=_lower_priority,
            )
        return _executor


def _forget_after_fork() -> None:
    """A forked worker does not inherit the parent's lane threads: it starts its own on first use."""
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` on the slow lane; this thread waits for it (exceptions come back as raised)."""
    if threading.current_thread().name.startswith("atlas-slow-lane"):
        return fn(*args, **kwargs)  # already on the lane (a slow method calling another)
    context = contextvars.copy_context()  # the request's id and the metrics' notes follow the call
    return _lane().submit(context.run, fn, *args, **kwargs).result()


def slow_methods(runtime: str) -> tuple[str, ...]:
    """The runtime module's SLOW_METHODS, read from its source when the module is not imported yet: a web
    worker asks this of the models it leaves to the slow pool, and importing audio_mlp would load torch."""
    dotted = settings.ATLAS_RUNTIMES.get(runtime, "")
    if not dotted:
        return ()
    return _declared(dotted.rsplit(".", 1)[0])


@functools.cache
def _declared(module_name: str) -> tuple[str, ...]:
    module = sys.modules.get(module_name)
    if module is None:
        found = _literal(module_name)
        if found is not None:
            return found
        try:  # no literal to read: import the module after all
            module = importlib.import_module(module_name)
        except ImportError:
            return ()
    return tuple(getattr(module, "SLOW_METHODS", ()))


def _literal(module_name: str) -> tuple[str, ...] | None:
    """A top-level `SLOW_METHODS = (...)` (or `SLOW_METHODS: ... = (...)`) literal in the module's source,
    () when the source has none, None when there is no source to read or it is not a literal."""
    try:
        spec = importlib.util.find_spec(module_name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        tree = ast.parse(Path(spec.origin).read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SLOW_METHODS" for t in node.targets):
                return tuple(ast.literal_eval(node.value))
            if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "SLOW_METHODS" and node.value:
                return tuple(ast.literal_eval(node.value))
    except (ImportError, OSError, SyntaxError, ValueError, TypeError):
        return None
    return ()


class SlowPredictor:
    """A predictor whose slow methods run on the lane; every other attribute is the predictor's own."""

    def __init__(self, predictor: Any, methods: tuple[str, ...]) -> None:
        self._predictor = predictor
        self._methods = frozenset(methods)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._predictor, name)
        if name in self._methods:
            return lambda *args, **kwargs: run(attribute, *args, **kwargs)
        return attribute


def wrap(runtime: str, predictor: Any) -> Any:
    methods = slow_methods(runtime)
    return SlowPredictor(predictor, methods) if methods else predictor
