from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils.module_loading import import_string
from tqdm import tqdm

from models_registry import services
from models_registry.management.base import ModelVersionCommand
from models_registry.models import ModelVersion
from models_registry.storage import STORAGE_KINDS

from ._common import (
    check_new_version,
    cli_actor,
    parse_metrics,
    read_golden,
    read_io_signature,
    read_metadata,
    with_sidecar,
)


class Command(ModelVersionCommand):
    help = "Upload a model file as a new version (sha256 computed), optionally making it active."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="Model name, e.g. digit_classifier")
        parser.add_argument("file", help="The model file")
        parser.add_argument("--version", required=True, help="Version string, e.g. 1.2.0")
        parser.add_argument("--activate", action="store_true", help="Promote it once uploaded")
        parser.add_argument("--metric", action="append", default=[], metavar="NAME=NUMBER")
        parser.add_argument(
            "--metadata",
            help="JSON file with class names, thresholds, training config, ...",
        )
        parser.add_argument("--storage", choices=STORAGE_KINDS, help="Default: MODEL_STORAGE_TYPE")
        parser.add_argument(
            "--runtime",
            help="Runtime of a new model (known model names have a default)",
        )
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--io-signature",
            metavar="FILE.json",
            help='Inputs and outputs, {"inputs": [{"name", "datatype", "shape"}], "outputs": [...]}, for a format '
            "that does not carry them (checked against the file where it does)",
        )
        parser.add_argument(
            "--onnx",
            action="store_true",
            help="Also register the file's ONNX export as version V+onnx (YOLO .pt; served by onnxruntime)",
        )
        parser.add_argument(
            "--reason",
            default="",
            help="Reason recorded in the history with --activate",
        )
        parser.add_argument(
            "--golden",
            metavar="FILE.json",
            help='Golden set: [{"input": {request body}, "expected": {answer fields}}]; promotions must meet it',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["file"])
        if not source.is_file():
            raise CommandError(f"{source}: no such file.")
        golden_set = read_golden(options["golden"]) if options["golden"] else None
        runtime = options["runtime"] or settings.ATLAS_KNOWN_MODELS.get(options["model"])
        storage = options["storage"] or settings.MODEL_STORAGE_TYPE
        # Every argument is checked before the progress bar starts.
        check_new_version(options["model"], options["version"])
        metrics = parse_metrics(options["metric"])
        metadata = read_metadata(options["metadata"])
        io_signature = read_io_signature(options["io_signature"])
        with tqdm(
            total=source.stat().st_size,
            unit="B",
            unit_scale=True,
            desc=f"upload to {storage}",
            file=self.stderr._out,
            disable=options["verbosity"] == 0,
        ) as bar:
            try:
                version = services.model_version_register(
                    model_name=options["model"],
                    version=options["version"],
                    source=source,
                    storage=storage,
                    runtime=runtime,
                    **with_sidecar(source, metrics, metadata),
                    io_signature=io_signature,
                    notes=options["notes"],
                    actor=cli_actor(),
                    progress=bar.update,
                )
            except services.RegistryError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"Registered {version} sha256={version.sha256} size={version.size_bytes} bytes")
        if golden_set is not None:
            services.model_version_attach_golden(version=version, entries=golden_set, actor=cli_actor())
            self.stdout.write(f"Golden set of {len(golden_set)} entries attached")
        if options["onnx"]:
            self._register_onnx(version, source, storage)
        if options["activate"]:
            try:
                services.model_version_promote(version=version, actor=cli_actor(), reason=options["reason"])
            except services.RegistryError as exc:
                raise CommandError(str(exc)) from exc
            services.store_bookkeeping_wait()  # metadata.json and latest/ are written before we exit
            self.stdout.write(self.style.SUCCESS(f"{version} is now active"))

    def _register_onnx(self, version: ModelVersion, source: Path, storage: str) -> None:
        exporter = import_string(settings.ATLAS_EXPORTERS["onnx"])
        with tempfile.TemporaryDirectory(prefix="atlas-onnx-") as scratch:
            try:
                # at the input size the .pt is served at (its metadata's imgsz), or the ONNX does other work
                size = {"imgsz": int(version.metadata["imgsz"])} if "imgsz" in version.metadata else {}
                onnx_path = exporter(source, Path(scratch) / f"{source.stem}.onnx", **size)
            except Exception as exc:  # the exporter's own error, said in words
                raise CommandError(f"ONNX export of {source} failed: {type(exc).__name__}: {exc}") from exc
            try:
                exported = services.model_version_register(
                    model_name=version.model.name,
                    version=f"{version.version}+onnx",
                    source=onnx_path,
                    storage=storage,
                    metrics=version.metrics,
                    metadata=version.metadata,
                    notes=f"ONNX export of {version.version}",
                    actor=cli_actor(),
                )
            except services.RegistryError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"Registered {exported} (ONNX export) sha256={exported.sha256}")
