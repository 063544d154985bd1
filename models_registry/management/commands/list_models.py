from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from models_registry.management.base import ModelVersionCommand
from models_registry.models import RegisteredModel
from models_registry.versioning import version_key

from ._common import get_model


class Command(ModelVersionCommand):
    help = (
        "A table of registered models: active version, number of versions, sha256 prefix. "
        "With MODEL: a table of that model's versions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", nargs="?", help="List this model's versions")
        parser.add_argument("--version", default=None, help="Refused: list_models MODEL lists every version")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["version"] is not None:
            raise CommandError("list_models takes no --version; run list_models MODEL to see every version of a model.")
        if options["model"]:
            self._versions(options["model"])
            return
        rows: list[tuple[str, ...]] = [("MODEL", "RUNTIME", "ACTIVE", "VERSIONS", "SHA256")]
        for model in RegisteredModel.objects.select_related("active_version").order_by("name"):
            active = model.active_version
            rows.append(
                (
                    model.name,
                    model.runtime,
                    active.version if active else "-",
                    str(model.versions.count()),
                    active.sha256[:12] if active else "-",
                )
            )
        if len(rows) == 1:
            self.stdout.write("No models registered. Upload one: manage.py upload_model NAME FILE --version V")
            return
        self._table(rows)

    def _versions(self, name: str) -> None:
        model = get_model(name)
        versions = sorted(model.versions.all(), key=lambda v: version_key(v.version), reverse=True)
        if not versions:
            self.stdout.write(f"{model.name} has no versions yet.")
            return
        rows: list[tuple[str, ...]] = [("VERSION", "STATUS", "ACTIVE", "STORAGE", "SIZE", "SHA256", "CREATED")]
        for v in versions:
            rows.append(
                (
                    v.version,
                    v.status,
                    "*" if v.pk == model.active_version_id else "",
                    v.storage,
                    str(v.size_bytes),
                    v.sha256[:12],
                    v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                )
            )
        self._table(rows)

    def _table(self, rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
