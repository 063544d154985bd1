"""manage.py seed_demo: give every demo model a first, active version so each endpoint answers.

Idempotent: a model that already has any version is left alone (and nothing is built for it when its
demo module names it in MODEL_NAME).
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from inference.demo import DemoArtifact
from models_registry import services, trust
from models_registry.models import ModelVersion

DEMO_BUILDERS = [
    "inference.demo.digits.build",
    "inference.demo.shapes.build",  # the trained shapes detector (inference.demo.vision builds an untrained one)
    "inference.demo.audio.build",
    "inference.demo.threat.build",
]
ACTOR = "seed_demo"


def _versions_summary(model_name: str) -> str | None:
    """'2 versions, active 1.0.1' when the model has versions, else None."""
    versions = ModelVersion.objects.filter(model__name=model_name).select_related("model__active_version")
    first = versions.first()
    if first is None:
        return None
    count = versions.count()
    active = first.model.active_version
    return f"{count} version{'s' if count != 1 else ''}, active {active.version if active else 'none'}"


class Command(BaseCommand):
    help = "Build, register (local storage) and promote a demo version of each model that has none yet."

    def handle(self, *args: Any, **options: Any) -> None:
        seeded: list[str] = []
        failed: list[str] = []
        for dotted in DEMO_BUILDERS:
            module_path = dotted.rpartition(".")[0]
            try:
                build = import_string(dotted)
            except ModuleNotFoundError as exc:
                if exc.name != module_path:
                    failed.append(f"{dotted}: {exc}")
                    self.stderr.write(f"{module_path}: cannot be imported: {exc}")
                else:
                    self.stdout.write(f"{module_path}: not available yet; skipped.")
                continue
            except ImportError as exc:
                failed.append(f"{dotted}: {exc}")
                self.stderr.write(f"{dotted}: {exc}")
                continue
            model_name = getattr(importlib.import_module(module_path), "MODEL_NAME", None)
            if model_name and (summary := _versions_summary(model_name)):
                self.stdout.write(f"{model_name}: already has {summary}; nothing to do.")
                continue
            try:
                line, done = self._seed(build)
            except Exception as exc:  # noqa: BLE001 -- one broken demo must not stop the others
                failed.append(f"{dotted}: {type(exc).__name__}: {exc}")
                self.stderr.write(f"{dotted}: failed: {type(exc).__name__}: {exc}")
                continue
            self.stdout.write(line)
            if done:
                seeded.append(line)
        if failed:
            raise CommandError(f"{len(failed)} demo model(s) could not be seeded: " + "; ".join(failed))
        if not seeded:
            self.stdout.write("Nothing to do: every available demo model already has a version.")

    def _seed(self, build: Callable[[Path], DemoArtifact]) -> tuple[str, bool]:
        """Build, register and promote; (the line to print, whether a version was added)."""
        with tempfile.TemporaryDirectory(prefix="seed-demo-") as scratch:
            artifact = build(Path(scratch))
            if summary := _versions_summary(artifact.model_name):
                return f"{artifact.model_name}: already has {summary}; nothing to do.", False
            services.registered_model_get_or_create(
                name=artifact.model_name, runtime=artifact.runtime, description=artifact.description
            )
            version = services.model_version_register(
                model_name=artifact.model_name,
                version=artifact.version,
                source=artifact.path,
                storage="local",
                runtime=artifact.runtime,
                metrics=artifact.metrics,
                metadata=artifact.metadata,
                notes=artifact.notes,
                actor=ACTOR,
            )
            for extra in artifact.also:
                services.model_version_register(
                    model_name=extra.model_name,
                    version=extra.version,
                    source=extra.path,
                    storage="local",
                    runtime=extra.runtime,
                    metrics=extra.metrics,
                    metadata=extra.metadata,
                    notes=extra.notes,
                    actor=ACTOR,
                )
        if trust.needs_trust(runtime=version.model.runtime, fmt=version.format):
            # The file is Atlas's own (built a moment ago, or committed with the code): seed_demo vouches for it,
            # on the record.
            services.model_version_trust(
                version=version, actor=ACTOR, reason="demo seed: built by seed_demo or committed with Atlas"
            )
        services.model_version_promote(version=version, actor=ACTOR, reason="demo seed")
        accuracy = artifact.metrics.get("accuracy")
        measured = f", accuracy {accuracy:.4f}" if isinstance(accuracy, float) else ""
        return f"{artifact.model_name}: registered and activated {artifact.version}{measured}.", True
