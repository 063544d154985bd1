from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from models_registry import services

from ._common import cli_actor, get_model


class Command(BaseCommand):
    help = "Make the version that was active before the current one active again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("model")
        parser.add_argument("--reason", default="")

    def handle(self, *args, **options) -> None:
        model = get_model(options["model"])
        try:
            event = services.model_rollback(model=model, actor=cli_actor(), reason=options["reason"])
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        services.store_bookkeeping_wait()  # metadata.json and latest/ are written before we exit
        self.stdout.write(
            self.style.SUCCESS(
                f"{model.name}: rolled back from {event.from_version.version} to {event.to_version.version}"
            )
        )
