from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from models_registry import services
from models_registry.management.base import ModelVersionCommand

from ._common import cli_actor, get_model, get_version, read_golden


class Command(ModelVersionCommand):
    help = (
        'Attach a golden set to a version: FILE.json is [{"input": {request body}, "expected": {answer fields}, '
        '"tolerance": 1e-6}]. Promotions and rollouts of the version must give those answers.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model")
        parser.add_argument("version")
        parser.add_argument("file", help="The golden set (JSON)")

    def handle(self, *args: Any, **options: Any) -> None:
        entries = read_golden(options["file"])
        version = get_version(get_model(options["model"]), options["version"])
        try:
            services.model_version_attach_golden(version=version, entries=entries, actor=cli_actor())
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{version}: golden set of {len(entries)} entries attached"))
