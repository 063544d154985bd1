"""Uploaded files (images, audio) for the prediction endpoints: the size limit the view declares
(`body_limit_setting`, which atlas.request_guard.BodyLimits already held the body to, from its headers),
the media type, and errors as `{"error", "detail"}`."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from atlas.request_guard import body_limit_setting

GENERIC_TYPES = ("", "application/octet-stream")


class UploadError(Exception):
    def __init__(self, code: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.error, self.detail = code, error, detail

    def response(self) -> Response:
        return Response({"error": self.error, "detail": self.detail}, status=self.code)


def _too_large(size: int, setting: str = "ATLAS_MAX_UPLOAD_MB") -> UploadError:
    limit = getattr(settings, setting)
    return UploadError(
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        "too_large",
        f"The upload is {size / 1048576:.1f} MB; the limit is {limit} MB ({setting}).",
    )


def read_upload(
    request: Request,
    *,
    accepted: tuple[str, ...],
    what: str,
    field: str = "file",
) -> bytes:
    """The uploaded bytes: multipart field `field`, or the whole body when its Content-Type is accepted.
    At most the view's `body_limit_setting` MB."""
    limit_setting = body_limit_setting(request.parser_context["view"])
    limit = getattr(settings, limit_setting) * 1024 * 1024
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > limit:
        raise _too_large(length, limit_setting)
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        upload = request.FILES.get(field)
        if upload is None:
            raise UploadError(400, "missing_file", f"Send {what} in the multipart field {field!r}.")
        if upload.size > limit:
            raise _too_large(upload.size, limit_setting)
        part_type = (upload.content_type or "").split(";")[0].strip().lower()
        if part_type not in accepted and part_type not in GENERIC_TYPES:
            raise UploadError(
                415,
                "unsupported_media_type",
                f"The file is {part_type!r}; send {what} ({', '.join(accepted)}).",
            )
        data: bytes = upload.read()
    elif content_type in accepted:
        try:
            data = request.body
        except RequestDataTooBig:
            raise _too_large(length, limit_setting) from None
    else:
        raise UploadError(
            415,
            "unsupported_media_type",
            f"Content-Type {content_type or 'none'!r} is not accepted; send {what} as {', '.join(accepted)}, "
            f"or as multipart/form-data with a {field!r} field.",
        )
    if len(data) > limit:
        raise _too_large(len(data), limit_setting)
    if not data:
        raise UploadError(400, "empty_upload", f"The upload is empty; send {what}.")
    return data


UploadErrorResponse = inline_serializer(
    "UploadError", {"error": serializers.CharField(), "detail": serializers.CharField()}
)
UPLOAD_ERRORS = {400: UploadErrorResponse, 413: UploadErrorResponse, 415: UploadErrorResponse}
