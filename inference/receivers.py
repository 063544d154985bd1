"""Connects the registry's `model_activated` signal to the process-local model cache."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from models_registry.signals import model_activated

from . import model_cache


@receiver(model_activated, dispatch_uid="inference.reload_model")
def reload_model(
    sender: Any, *, version: Any, predictor: Any = None, force_download: bool = False, **kwargs: Any
) -> None:
    # Only a process that serves: the task worker (and a management command) trial-loaded the predictor to
    # promote it; installing it there would hold it (up to the model's size) in a cache nothing reads.
    if model_cache.is_serving():
        model_cache.activate(version=version, predictor=predictor, force_download=force_download)
