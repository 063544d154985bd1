from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from models_registry import selectors

from ._common import get_model


class Command(BaseCommand):
    help = "The model's running (or last) rollout: state, percent, and the figures per version and agreement."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model")
        parser.add_argument("--json", action="store_true", help="The figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_model(options["model"])
        rollout = model.rollouts.select_related("stable", "candidate").first()
        if rollout is None:
            self.stdout.write(f"{model.name} has had no rollout.")
            return
        figures = selectors.rollout_figures(rollout=rollout) if rollout.state == "running" else rollout.figures
        if options["json"]:
            self.stdout.write(json.dumps({"rollout": rollout.pk, "state": rollout.state, "figures": figures}, indent=2))
            return
        self.stdout.write(
            f"rollout {rollout.pk}: {rollout.mode} of {rollout.candidate.version} beside {rollout.stable.version}, "
            f"{rollout.state}" + (f", {rollout.percent:g}%" if rollout.mode == "canary" else "")
        )
        if rollout.reason:
            self.stdout.write(f"  reason: {rollout.reason}")
        for role in ("stable", "candidate"):
            part = figures.get(role) or {}
            p99 = part.get("p99_seconds")
            self.stdout.write(
                f"  {role:9} {part.get('version', '-'):12} requests {part.get('requests', 0):>7}  "
                f"errors {part.get('errors', 0):>5}  p99 {f'{p99 * 1000:.1f} ms' if p99 else '-'}"
            )
        shadow = figures.get("shadow") or {}
        if rollout.mode == "shadow":
            agreement = shadow.get("agreement")
            self.stdout.write(
                f"  shadow    compared {shadow.get('compared', 0)}  agreed {shadow.get('agreed', 0)}  "
                f"agreement {'-' if agreement is None else f'{agreement:.3f}'}  dropped {shadow.get('dropped', 0)}  "
                f"errors {shadow.get('errors', 0)}"
            )
