from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from models_registry import services
from models_registry.management.base import ModelVersionCommand

from ._common import cli_actor, get_model


class Command(ModelVersionCommand):
    help = "Make the version that was active before the current one active again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model")
        parser.add_argument("--reason", default="")
        parser.add_argument("--version", default=None, help="Refused: to choose a version use activate_model")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["version"] is not None:
            raise CommandError(
                f"rollback_model goes back to the previously active version and takes no --version; "
                f"to make {options['version']!r} active run: manage.py activate_model {options['model']} "
                f"{options['version']}"
            )
        model = get_model(options["model"])
        try:
            event = services.model_rollback(model=model, actor=cli_actor(), reason=options["reason"])
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        services.store_bookkeeping_wait()  # metadata.json and latest/ are written before we exit
        # A rollback always leaves an active version; the event's from_version is nullable in the schema only.
        from_label = event.from_version.version if event.from_version else "-"
        to_label = event.to_version.version if event.to_version else "-"
        self.stdout.write(self.style.SUCCESS(f"{model.name}: rolled back from {from_label} to {to_label}"))
