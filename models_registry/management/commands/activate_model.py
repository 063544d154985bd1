from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from models_registry import services
from models_registry.management.base import ModelVersionCommand

from ._common import cli_actor, get_model, get_version


class Command(ModelVersionCommand):
    help = "Promote a registered version: fetch, verify its sha256, load and warm up, then make it active."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model")
        parser.add_argument("version", nargs="?", help="The version to make active (or --version V)")
        parser.add_argument("--version", dest="version_option", default=None, help="Same as the positional VERSION")
        parser.add_argument("--reason", default="")
        parser.add_argument("--force-download", action="store_true", help="Fetch again even if cached")
        parser.add_argument(
            "--force-signature",
            action="store_true",
            help="Promote even when its inputs or outputs are incompatible with the active version's",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        positional, option = options["version"], options["version_option"]
        if positional and option and positional != option:
            raise CommandError(f"Two versions given ({positional!r} and --version {option!r}); give one.")
        if not (positional or option):
            raise CommandError("Which version? activate_model MODEL VERSION (or --version VERSION).")
        version = get_version(get_model(options["model"]), positional or option)
        try:
            event = services.model_version_promote(
                version=version,
                actor=cli_actor(),
                reason=options["reason"],
                force_download=options["force_download"],
                force_signature=options["force_signature"],
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        services.store_bookkeeping_wait()  # metadata.json and latest/ are written before we exit
        previous = event.from_version.version if event.from_version else "none"
        self.stdout.write(self.style.SUCCESS(f"{version} is now active ({event.action}; was {previous})"))
