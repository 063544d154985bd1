"""manage.py adopt_hf: register HF_MODEL_REPO's `{name}.npz` networks into an empty registry and activate
DEFAULT_MODEL (what a serving worker does at start; see models_registry.compat.bootstrap)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from models_registry.compat.bootstrap import adopt_hub_models


class Command(BaseCommand):
    help = "Adopt the Hub repo's digit networks (HF_MODEL_REPO, DEFAULT_MODEL) when the registry has none."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = adopt_hub_models()
        if outcome["outcome"] in ("hub_unreachable", "activation_failed"):
            raise CommandError(str(outcome["detail"]))
        self.stdout.write(str(outcome["detail"]))
