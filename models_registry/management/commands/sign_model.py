"""Make ed25519 keys and signatures that let a format that runs code on load (a YOLO .pt) be served.

manage.py sign_model --generate-key release.pem [--name release]
    writes the private key (keep it off the servers) and prints the ATLAS_TRUSTED_KEYS entry
manage.py sign_model --key release.pem model.pt
    prints the file's sha256 and its signature (give it to upload: `signature`, or sign_model below)
manage.py sign_model --key release.pem --model visual_detector --version 2.0.0
    signs a registered version's sha256 and records it (audited); refused unless the key is trusted
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from models_registry import services, trust
from models_registry.management.base import ModelVersionCommand
from models_registry.storage.base import sha256_of_file

from ._common import cli_actor, get_model


class Command(ModelVersionCommand):
    help = "Generate an ed25519 key pair, or sign a model file or a registered version's sha256."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="A model file to sign (prints the signature).")
        parser.add_argument("--generate-key", metavar="PATH", help="Write a new private key here (PEM).")
        parser.add_argument("--name", default="", help="The key's name in ATLAS_TRUSTED_KEYS (with --generate-key).")
        parser.add_argument("--key", metavar="PATH", help="The private key (PEM) to sign with.")
        parser.add_argument("--model", help="Sign this registered model's --version and record the signature.")
        parser.add_argument("--version", help="The version to sign (with --model).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate_key"]:
            self._generate(Path(options["generate_key"]), options["name"])
            return
        if not options["key"]:
            raise CommandError("Give --key PATH (a private key from --generate-key), or --generate-key PATH.")
        try:
            private_pem = Path(options["key"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read the key: {exc.strerror}.") from None
        if options["model"]:
            self._sign_version(private_pem, options["model"], options["version"])
        elif options["file"]:
            sha256, _ = sha256_of_file(Path(options["file"]))
            self.stdout.write(f"sha256 {sha256}\nsignature {self._sign(private_pem, sha256)}")
        else:
            raise CommandError("Give a FILE to sign, or --model and --version of a registered version.")

    def _sign(self, private_pem: bytes, sha256: str) -> str:
        try:
            return trust.sign(private_pem=private_pem, sha256=sha256)
        except (ValueError, TypeError) as exc:
            raise CommandError(f"Not an ed25519 private key in PEM: {exc}") from None

    def _generate(self, path: Path, name: str) -> None:
        if path.exists():
            raise CommandError(f"{path} exists; choose another path (a key is never overwritten).")
        private_pem, public = trust.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(private_pem)
        entry = f"{name or path.stem}:{public}"
        self.stdout.write(f"Private key written to {path} (mode 600; keep it off the servers).")
        self.stdout.write(f"Add to ATLAS_TRUSTED_KEYS on the servers: {entry}")

    def _sign_version(self, private_pem: bytes, model_name: str, wanted: str | None) -> None:
        model = get_model(model_name)
        version = model.versions.select_related("model").filter(version=wanted or "").first()
        if version is None:
            raise CommandError(f"{model.name} has no version {wanted!r}; give --version.")
        try:
            event = services.model_version_sign(
                version=version, signature=self._sign(private_pem, version.sha256), actor=cli_actor()
            )
        except services.RegistryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{version}: {event.reason}."))
