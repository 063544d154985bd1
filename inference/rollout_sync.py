"""The serving worker's rollout tick, run by its activation listener after each sync: serve the running
rollouts, flush this worker's counts to the registry, and evaluate each rollout (the worker that claims
a rollout's row decides for all; the others skip it)."""

from __future__ import annotations

import os
import socket

from models_registry import selectors
from models_registry.services import rollouts as rollout_services

from . import model_cache, rollouts


def tick() -> None:
    running = selectors.running_rollouts()
    if not running and not model_cache.rollout_state():
        return
    model_cache.apply_rollouts(running)
    stats = rollouts.counts.snapshot({rollout.pk for rollout in running.values()})
    if stats:
        rollout_services.rollout_stats_save(host=socket.gethostname(), pid=os.getpid(), stats=stats)
    for rollout in running.values():
        rollout_services.rollout_evaluate(rollout_id=rollout.pk)
