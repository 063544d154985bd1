"""Trust, not only integrity (DESIGN.md invariant 10).

The sha256 gate proves a version's bytes are the registered ones, not that whoever registered them may
run code in every worker. A format that executes code when loaded (settings.ATLAS_CODE_EXECUTING_FORMATS:
an ultralytics `.pt` is a pickle) loads only when the version is

- marked trusted by a user holding `models_registry.trust_artifact` (`trusted_by`), or
- signed: an ed25519 signature (base64) of its sha256, as 64 lowercase hex characters in ASCII, that
  verifies against a public key of settings.ATLAS_TRUSTED_KEYS. It is checked before every load, so
  removing a key from the setting revokes what it signed.

ONNX, .npz, safetensors, JSON and weights-only torch files need neither.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from .models import ModelVersion


class UntrustedArtifact(Exception):
    """A version whose format runs code on load is neither trusted nor validly signed."""


def needs_trust(*, runtime: str, fmt: str) -> bool:
    return fmt.lower() in settings.ATLAS_CODE_EXECUTING_FORMATS.get(runtime, ())


def _public_keys() -> dict[str, Ed25519PublicKey]:
    keys = {}
    for name, encoded in settings.ATLAS_TRUSTED_KEYS.items():
        try:
            keys[name] = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded, validate=True))
        except (ValueError, binascii.Error):
            continue  # a malformed entry trusts nothing (manage.py check would be the place to say so)
    return keys


def signing_key(*, sha256: str, signature: str) -> str | None:
    """The name of the trusted key whose signature of `sha256` this is, or None."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return None
    message = sha256.lower().encode("ascii")
    for name, key in _public_keys().items():
        try:
            key.verify(raw, message)
        except InvalidSignature:
            continue
        return name
    return None


def trust_basis(version: ModelVersion) -> str | None:
    """Why this version may run code on load ("trusted by ops", "signed by key release"), or None."""
    if version.trusted_by:
        return f"trusted by {version.trusted_by}"
    if version.signature and (name := signing_key(sha256=version.sha256, signature=version.signature)):
        return f"signed by key {name}"
    return None


def require_trusted(version: ModelVersion) -> None:
    """Raise UntrustedArtifact unless `version` may be loaded; call it before every load."""
    if not needs_trust(runtime=version.model.runtime, fmt=version.format) or trust_basis(version):
        return
    raise UntrustedArtifact(
        f"{version} is a .{version.format} file, which runs code when loaded; it is not trusted. A user with the "
        "'trust_artifact' permission can mark it trusted, or sign its sha256 with a key listed in "
        "ATLAS_TRUSTED_KEYS (manage.py sign_model). Or serve an ONNX export instead."
    )


# --- making keys and signatures (manage.py sign_model) ----------------------------------------------


def generate_key() -> tuple[bytes, str]:
    """(private key as PEM, public key as base64 raw bytes for ATLAS_TRUSTED_KEYS)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, base64.b64encode(public).decode()


def sign(*, private_pem: bytes, sha256: str) -> str:
    private = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("The key is not an ed25519 private key.")
    return base64.b64encode(private.sign(sha256.lower().encode("ascii"))).decode()
