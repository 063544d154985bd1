from __future__ import annotations

from django.core.management.base import BaseCommand

from models_registry.models import RegisteredModel


class Command(BaseCommand):
    help = "A table of registered models: active version, number of versions, sha256 prefix."

    def handle(self, *args, **options) -> None:
        rows = [("MODEL", "RUNTIME", "ACTIVE", "VERSIONS", "SHA256")]
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
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
