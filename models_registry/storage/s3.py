"""S3-compatible artifact store (AWS S3, DigitalOcean Spaces, Cloudflare R2, MinIO, SeaweedFS).

Layout, kept from the threat-intelligence service so its bucket works unchanged:

    models/{model}/{version}/{filename}     one object per version
    models/{model}/metadata.json            what the active version is (for old clients)
    models/{model}/latest/{filename}        a server-side copy of the active artifact (for old clients)

A plain boto3 client, not django-storages: the registry needs the VersionId/ETag of each upload,
multipart uploads with a progress callback, downloads pinned to a VersionId and server-side copies,
none of which django-storages' `Storage` API exposes.

The revision recorded for an upload is the object's VersionId when the bucket is versioned, else its
ETag in its quoted HTTP form (`"9b2c…"`): a quoted revision is an ETag, anything else a VersionId.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)
from django.conf import settings

from .base import ArtifactNotFound, HashingWriter, Progress, StorageError, StoredArtifact, artifact_key

MB = 1024 * 1024
MULTIPART_THRESHOLD = 8 * MB

_NOT_FOUND_CODES = {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}
_NO_BUCKET_CODES = {"NoSuchBucket"}
_CREDENTIAL_CODES = {
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
}


def _is_etag(revision: str) -> bool:
    return revision.startswith('"')


class S3Store:
    kind = "s3"

    def __init__(self) -> None:
        self.bucket: str = settings.S3_BUCKET
        self.endpoint_url: str | None = settings.S3_ENDPOINT_URL or None
        self.region: str = settings.S3_REGION or "us-east-1"
        self.access_key: str = settings.S3_ACCESS_KEY
        self.secret_key: str = settings.S3_SECRET_KEY
        self._client: Any = None

    # --- the ArtifactStore interface ------------------------------------------------------------

    def put(
        self,
        *,
        model: str,
        version: str,
        filename: str,
        source: Path,
        progress: Progress = None,
    ) -> StoredArtifact:
        bucket = self._require_bucket()
        key = artifact_key(model, version, filename)
        try:
            self.client.upload_file(
                str(source),
                bucket,
                key,
                ExtraArgs={"ContentType": "application/octet-stream"},
                Config=self._transfer_config(),
                Callback=progress,
            )
            # The transfer manager does not return the upload's VersionId/ETag: read them back.
            head = self.client.head_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise self._error(exc, action="upload", bucket=bucket, key=key) from exc
        if head["ContentLength"] != source.stat().st_size:
            raise StorageError(
                f"s3://{bucket}/{key} holds {head['ContentLength']} bytes after uploading "
                f"{source.stat().st_size}: another upload to the same key raced this one; upload again."
            )
        return StoredArtifact(
            storage=self.kind,
            location=key,
            bucket=bucket,
            revision=self._revision_of(head),
        )

    def fetch(self, artifact: StoredArtifact, dest: Path, *, progress: Progress = None) -> str:
        bucket = artifact.bucket or self._require_bucket()
        key = artifact.location
        extra: dict[str, str] = {}
        try:
            if artifact.revision and not _is_etag(artifact.revision):
                extra["VersionId"] = artifact.revision
            elif artifact.revision:
                etag = self.client.head_object(Bucket=bucket, Key=key)["ETag"]
                if etag != artifact.revision:
                    raise StorageError(
                        f"s3://{bucket}/{key} changed since it was registered: its ETag is {etag}, "
                        f"the registry recorded {artifact.revision}. The bucket is not versioned, so the "
                        "registered bytes are gone; register the object again as a new version."
                    )
            # Into `dest` itself (download_file would write `<dest>.<random>` first, a name the artifact
            # cache's leftover sweep does not know), through a non-seekable writer: the ranged parts arrive
            # in order and are hashed as they are written, so the file is never read back to verify it.
            with open(dest, "wb") as handle:
                writer = HashingWriter(handle)
                self.client.download_fileobj(
                    bucket,
                    key,
                    writer,
                    ExtraArgs=extra or None,
                    Config=self._transfer_config(),
                    Callback=progress,
                )
            return writer.hexdigest()
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise self._error(
                exc,
                action="download",
                bucket=bucket,
                key=key,
                revision=artifact.revision,
            ) from exc

    def write_model_metadata(
        self, *, model: str, metadata: dict[str, Any], latest: StoredArtifact | None = None
    ) -> None:
        bucket = self._require_bucket()
        key = f"models/{model}/metadata.json"
        body = json.dumps(metadata, indent=2, sort_keys=True).encode()
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise self._error(exc, action="write", bucket=bucket, key=key) from exc
        if latest is not None:
            self._copy_to_latest(model=model, artifact=latest)

    def latest(self, *, model: str, aliases: Sequence[str] = ()) -> StoredArtifact:
        bucket = self._require_bucket()
        files: list[dict[str, Any]] = []
        for name in (model, *aliases):  # an alias: the old stem, where the old guide uploads (yolov8m)
            prefix = f"models/{name}/latest/"
            try:
                listing = self.client.list_objects_v2(Bucket=bucket, Prefix=prefix)
            except (ClientError, BotoCoreError, Boto3Error) as exc:
                raise self._error(exc, action="list", bucket=bucket, key=prefix) from exc
            files += [
                item
                for item in listing.get("Contents", [])
                # a file directly under latest/: not a folder marker (a key ending in "/", or zero bytes)
                if "/" not in item["Key"][len(prefix) :] and item["Key"] != prefix and item.get("Size", 0) > 0
            ]
        if not files:
            raise ArtifactNotFound(f"s3://{bucket}/models/{model}/latest/ holds no file.")
        # An upload beside the active version's copy (another name, or the alias's folder): the newest wins.
        files.sort(key=lambda item: item["LastModified"], reverse=True)
        if len(files) > 1 and files[0]["LastModified"] == files[1]["LastModified"]:
            names = ", ".join(item["Key"] for item in files if item["LastModified"] == files[0]["LastModified"])
            raise ArtifactNotFound(f"s3://{bucket}: {names} were written at the same time; which is latest is unclear.")
        pinned = self.pin(StoredArtifact(storage=self.kind, location=files[0]["Key"], bucket=bucket))
        return dataclasses.replace(pinned, modified_at=files[0]["LastModified"])

    def check(self) -> None:
        bucket = self._require_bucket()
        try:
            self.client.head_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise self._error(exc, action="access", bucket=bucket) from exc

    def pin(self, artifact: StoredArtifact) -> StoredArtifact:
        """Record the object's current VersionId (versioned bucket) or ETag, when none is recorded yet."""
        if artifact.revision:
            return artifact
        bucket = artifact.bucket or self._require_bucket()
        try:
            head = self.client.head_object(Bucket=bucket, Key=artifact.location)
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise self._error(exc, action="find", bucket=bucket, key=artifact.location) from exc
        return StoredArtifact(
            storage=self.kind,
            location=artifact.location,
            bucket=bucket,
            revision=self._revision_of(head),
        )

    # --- beyond the interface (S3 only: tests, ops and adoption) -----------------------------------

    def ensure_bucket(self, *, versioned: bool = False) -> None:
        """Create S3_BUCKET when it does not exist (and turn versioning on when asked). For tests and ops."""
        bucket = self._require_bucket()
        try:
            try:
                self.client.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if self._code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                    raise
                kwargs: dict[str, Any] = {"Bucket": bucket}
                if self.region != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
                try:
                    self.client.create_bucket(**kwargs)
                except ClientError as create_exc:
                    if self._code(create_exc) != "BucketAlreadyOwnedByYou":
                        raise
            if versioned:
                self.client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise self._error(exc, action="create", bucket=bucket) from exc

    @property
    def client(self) -> Any:
        if self._client is None:
            credentials = {}
            if self.access_key or self.secret_key:
                # Unset: boto3's own chain (instance role, ~/.aws) decides, as on AWS.
                credentials = {
                    "aws_access_key_id": self.access_key,
                    "aws_secret_access_key": self.secret_key,
                }
            config = Config(
                signature_version="s3v4",
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=settings.ATLAS_STORE_CONNECT_SECONDS,
                read_timeout=settings.ATLAS_STORE_READ_SECONDS,
                # S3-compatible servers reached by URL (MinIO, SeaweedFS, IPs) need path-style addressing;
                # Spaces and R2 accept it too. AWS proper (no endpoint) keeps virtual-host style.
                s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            )
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                config=config,
                **credentials,
            )
        return self._client

    # --- helpers --------------------------------------------------------------------------------

    def _copy_to_latest(self, *, model: str, artifact: StoredArtifact) -> None:
        bucket = self._require_bucket()
        source: dict[str, str] = {
            "Bucket": artifact.bucket or bucket,
            "Key": artifact.location,
        }
        if artifact.revision and not _is_etag(artifact.revision):
            source["VersionId"] = artifact.revision
        key = f"models/{model}/latest/{Path(artifact.location).name}"
        try:
            # The managed copy switches to a multipart server-side copy past the threshold (and past 5 GB).
            self.client.copy(source, bucket, key, Config=self._transfer_config())
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise self._error(
                exc,
                action="copy",
                bucket=source["Bucket"],
                key=artifact.location,
                revision=artifact.revision,
            ) from exc

    def _require_bucket(self) -> str:
        if not self.bucket:
            raise StorageError("S3_BUCKET is not set: name the bucket that holds the models.")
        return self.bucket

    @staticmethod
    def _transfer_config() -> TransferConfig:
        return TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_THRESHOLD,
        )

    @staticmethod
    def _revision_of(head: dict[str, Any]) -> str:
        version_id: str | None = head.get("VersionId")
        if version_id and version_id != "null":
            return version_id
        etag: str = head["ETag"]
        return etag

    @staticmethod
    def _code(exc: ClientError) -> str:
        return str(exc.response.get("Error", {}).get("Code", ""))

    def _error(
        self,
        exc: Exception,
        *,
        action: str,
        bucket: str,
        key: str = "",
        revision: str = "",
    ) -> StorageError:
        if isinstance(exc, Boto3Error) and isinstance(exc.__context__, (ClientError, BotoCoreError)):
            exc = exc.__context__  # S3UploadFailedError wraps the ClientError that says what happened
        where = f"s3://{bucket}/{key}" if key else f"bucket {bucket!r}"
        endpoint = self.endpoint_url or "AWS S3"
        if isinstance(exc, NoCredentialsError):
            return StorageError(f"No S3 credentials: set S3_ACCESS_KEY and S3_SECRET_KEY to {action} {where}.")
        if isinstance(exc, EndpointConnectionError):
            return StorageError(f"Cannot reach S3 at {endpoint} to {action} {where}: check S3_ENDPOINT_URL. ({exc})")
        if not isinstance(exc, ClientError):
            return StorageError(f"S3 at {endpoint} failed to {action} {where}: {exc}")
        code = self._code(exc)
        if code == "InvalidAccessKeyId":
            return StorageError(
                f"S3 at {endpoint} does not know the access key {self.access_key!r}: "
                "the credentials are wrong; check S3_ACCESS_KEY and S3_SECRET_KEY."
            )
        if code == "SignatureDoesNotMatch":
            return StorageError(
                f"S3 at {endpoint} rejected the signature for access key {self.access_key!r}: "
                "the credentials are wrong; check S3_SECRET_KEY."
            )
        if code in _CREDENTIAL_CODES:
            return StorageError(
                f"S3 at {endpoint} refused access to {where} (HTTP 403): the credentials are wrong "
                f"or may not {action} it; check S3_ACCESS_KEY and S3_SECRET_KEY and the key's permissions."
            )
        if code in _NO_BUCKET_CODES or (code in _NOT_FOUND_CODES and not key):
            return StorageError(f"The bucket {bucket!r} does not exist at {endpoint}: create it or fix S3_BUCKET.")
        if code in _NOT_FOUND_CODES:
            pinned = f" at revision {revision}" if revision else ""
            return ArtifactNotFound(f"{where}{pinned} does not exist at {endpoint}.")
        if code in {"InvalidArgument", "400"} and revision and not _is_etag(revision):
            return ArtifactNotFound(f"{where} has no version {revision!r} at {endpoint}.")
        return StorageError(f"S3 at {endpoint} failed to {action} {where}: {code} {exc}")
