"""manage.py adopt_store s3://bucket [--map stem=model ...]: take over the threat-intelligence service's
bucket. See models_registry/compat/adoption.py."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from models_registry.compat.adoption import store_adopt
from models_registry.storage import StorageError

from ._common import cli_actor

_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/?$")


class Command(BaseCommand):
    help = (
        "Register every models/{stem}/{version}/{file} of an S3 bucket laid out by the threat-intelligence "
        "service (pinned to VersionId/ETag, sha256 checked against metadata.json), and activate the version "
        "whose bytes equal latest/. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("uri", help="s3://bucket")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="STEM=MODEL",
            help="Register models/STEM/... as MODEL (default: ATLAS_MODEL_ALIASES, else the stem)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        match = _URI.match(options["uri"])
        if not match:
            raise CommandError(f"{options['uri']!r} is not s3://bucket (the bucket alone, no key).")
        mapping = {}
        for item in options["map"]:
            stem, sep, model = item.partition("=")
            if not sep or not stem or not model:
                raise CommandError(f"--map {item!r}: use STEM=MODEL, e.g. yolov8m=visual_detector.")
            mapping[stem] = model
        try:
            report = store_adopt(bucket=match["bucket"], mapping=mapping, actor=cli_actor())
        except StorageError as exc:
            raise CommandError(f"Could not read {options['uri']}: {exc}") from exc
        for line in report.registered:
            self.stdout.write(f"registered {line}")
        for line in report.activated:
            self.stdout.write(self.style.SUCCESS(f"activated {line}"))
        for line in report.skipped:
            self.stdout.write(f"skipped {line}")
        self.stdout.write(
            f"{len(report.registered)} registered, {len(report.activated)} activated, {len(report.skipped)} skipped."
        )
