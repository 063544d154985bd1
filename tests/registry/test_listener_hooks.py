"""The activation listener's hooks: `on_tick` after a sync the registry answered, `on_wake` after every one.
inference.serving flushes the worker's metrics on wake, so that an outage does not hold them back."""

from __future__ import annotations

from django.db import DatabaseError

from models_registry import listener


def test_only_the_wake_hook_runs_after_a_sync_the_registry_did_not_answer(monkeypatch):
    def unreachable() -> dict:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(listener.selectors, "active_version_ids", unreachable)
    called: list[str] = []
    activation = listener.ActivationListener(
        loaded=dict, on_tick=lambda: called.append("tick"), on_wake=lambda: called.append("wake")
    )

    activation.sync()

    assert called == ["wake"]
    assert activation.registry_unreachable is True
