"""Base for commands that take `--version V` (a model version), which Django's own --version shadows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class ModelVersionCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Our --version (the model's) replaces Django's "print Django's version and exit".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)
