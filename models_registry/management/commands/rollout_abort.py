from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from models_registry import selectors, services
from models_registry.services import rollouts

from ._common import cli_actor, get_model


class Command(BaseCommand):
    help = "Abort the model's running rollout: every worker returns to the stable version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model")
        parser.add_argument("--reason", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_model(options["model"])
        rollout = selectors.running_rollout(model=model)
        if rollout is None:
            raise CommandError(f"{model.name} has no running rollout.")
        try:
            rollouts.rollout_abort(
                rollout=rollout, actor=cli_actor(), reason=options["reason"] or "aborted from the CLI"
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Rollout {rollout.pk} of {rollout.candidate} aborted"))
