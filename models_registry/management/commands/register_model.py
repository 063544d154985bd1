from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from models_registry import services
from models_registry.management.base import ModelVersionCommand
from models_registry.storage import StorageError
from models_registry.storage.uris import is_external_path, parse_artifact_uri

from ._common import check_new_version, cli_actor, parse_metrics, read_io_signature, read_metadata, with_sidecar


class Command(ModelVersionCommand):
    help = (
        "Register a file that is already stored: s3://bucket/key, hf://org/repo/file[@revision] or a local "
        "path. It is fetched once to compute sha256 and size; remote revisions are pinned (Hub commit sha, "
        "S3 VersionId or ETag)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model")
        parser.add_argument("uri")
        parser.add_argument("--version", required=True)
        parser.add_argument("--runtime", help="Runtime of a new model (known model names have a default)")
        parser.add_argument("--metric", action="append", default=[], metavar="NAME=NUMBER")
        parser.add_argument("--metadata", help="JSON file with class names, thresholds, ...")
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--io-signature",
            metavar="FILE.json",
            help='Inputs and outputs, {"inputs": [{"name", "datatype", "shape"}], "outputs": [...]}, for a format '
            "that does not carry them (checked against the file where it does)",
        )
        parser.add_argument("--activate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            artifact = parse_artifact_uri(options["uri"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # Every argument is checked before the progress bar starts.
        check_new_version(options["model"], options["version"])
        if is_external_path(artifact) and not Path(artifact.location).is_file():
            raise CommandError(f"{artifact.location}: no such file.")
        common = {
            "model_name": options["model"],
            "version": options["version"],
            "runtime": options["runtime"] or settings.ATLAS_KNOWN_MODELS.get(options["model"]),
            "metrics": parse_metrics(options["metric"]),
            "metadata": read_metadata(options["metadata"]),
            "io_signature": read_io_signature(options["io_signature"]),
            "notes": options["notes"],
            "actor": cli_actor(),
        }
        with tqdm(
            unit="B", unit_scale=True, desc="fetch", file=self.stderr._out, disable=options["verbosity"] == 0
        ) as bar:
            try:
                if is_external_path(artifact):
                    source = Path(artifact.location)
                    if not source.is_file():
                        raise CommandError(f"{source}: no such file.")
                    common.update(with_sidecar(source, common["metrics"], common["metadata"]))
                    version = services.model_version_register(
                        source=source, storage="local", progress=bar.update, **common
                    )
                else:
                    version = services.model_version_register_stored(artifact=artifact, progress=bar.update, **common)
            except StorageError as exc:
                raise CommandError(f"Could not reach {options['uri']}: {exc}") from exc
            except services.RegistryError as exc:
                raise CommandError(str(exc)) from exc
        pin = f" revision={version.revision}" if version.revision else ""
        self.stdout.write(f"Registered {version} sha256={version.sha256} size={version.size_bytes}{pin}")
        if options["activate"]:
            try:
                services.model_version_promote(version=version, actor=cli_actor())
            except services.RegistryError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(self.style.SUCCESS(f"{version} is now active"))
