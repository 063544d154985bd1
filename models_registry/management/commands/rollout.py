from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from models_registry import services
from models_registry.management.base import ModelVersionCommand
from models_registry.services import rollouts

from ._common import cli_actor, get_model, get_version


class Command(ModelVersionCommand):
    help = (
        "Start a rollout: serve VERSION beside the active version, as a canary (a share of requests, sticky by "
        "X-Atlas-Route-Key) or a shadow (a copy of every request); it promotes itself after a clean bake and "
        "rolls back when a guardrail trips."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model")
        parser.add_argument("version")
        parser.add_argument("--mode", choices=["canary", "shadow"], required=True)
        parser.add_argument("--percent", type=float, default=10.0, help="Canary: share of requests (default 10)")
        parser.add_argument("--bake", type=int, default=600, metavar="SECONDS", help="Clean time before promotion")
        parser.add_argument("--min-requests", type=int, default=20, help="Before a guardrail may trip or pass")
        parser.add_argument("--max-error-rate", type=float, help="Candidate 5xx share that rolls it back (0-1)")
        parser.add_argument("--max-p99-ratio", type=float, help="Candidate p99 / stable p99 that rolls it back")
        parser.add_argument("--min-agreement", type=float, help="Shadow: agreement below this rolls it back (0-1)")
        parser.add_argument(
            "--min-live-accuracy",
            type=float,
            help="Canary: the candidate's live accuracy (feedback) below this rolls it back",
        )
        parser.add_argument("--reason", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_model(options["model"])
        candidate = get_version(model, options["version"])
        try:
            rollout = rollouts.rollout_start(
                model=model,
                candidate=candidate,
                mode=options["mode"],
                percent=options["percent"],
                bake_seconds=options["bake"],
                min_requests=options["min_requests"],
                max_error_rate=options["max_error_rate"],
                max_p99_ratio=options["max_p99_ratio"],
                min_agreement=options["min_agreement"],
                min_live_accuracy=options["min_live_accuracy"],
                actor=cli_actor(),
                reason=options["reason"],
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        share = f" for {rollout.percent:g}% of requests" if rollout.mode == "canary" else ""
        self.stdout.write(
            self.style.SUCCESS(f"Rollout {rollout.pk}: {candidate} as a {rollout.mode}{share} beside {rollout.stable}")
        )
