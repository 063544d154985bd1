from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from models_registry import services

from ._common import cli_actor, get_model, get_version


class Command(BaseCommand):
    help = "Promote a registered version: fetch, verify its sha256, load and warm up, then make it active."

    def add_arguments(self, parser) -> None:
        parser.add_argument("model")
        parser.add_argument("version")
        parser.add_argument("--reason", default="")
        parser.add_argument("--force-download", action="store_true", help="Fetch again even if cached")

    def handle(self, *args, **options) -> None:
        version = get_version(get_model(options["model"]), options["version"])
        try:
            event = services.model_version_promote(
                version=version,
                actor=cli_actor(),
                reason=options["reason"],
                force_download=options["force_download"],
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        services.store_bookkeeping_wait()  # metadata.json and latest/ are written before we exit
        previous = event.from_version.version if event.from_version else "none"
        self.stdout.write(self.style.SUCCESS(f"{version} is now active ({event.action}; was {previous})"))
