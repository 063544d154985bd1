from __future__ import annotations

import json
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from models_registry.models import ActivationEvent, ModelVersion, PromotionJob, RegisteredModel, Rollout
from models_registry.storage import STORAGE_KINDS


class ModelVersionSerializer(serializers.ModelSerializer[ModelVersion]):
    model: serializers.SlugRelatedField[RegisteredModel] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "version",
            "storage",
            "location",
            "bucket",
            "revision",
            "sha256",
            "size_bytes",
            "format",
            "metrics",
            "metadata",
            "io_signature",
            "status",
            "status_detail",
            "is_active",
            "notes",
            "created_at",
            "created_by",
            "trusted_by",
            "trusted_at",
            "signature",
        ]
        read_only_fields = fields

    def get_is_active(self, obj: ModelVersion) -> bool:
        return obj.model.active_version_id == obj.pk


class RegisteredModelSerializer(serializers.ModelSerializer[RegisteredModel]):
    active_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="version", read_only=True, allow_null=True
    )

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "name",
            "runtime",
            "description",
            "active_version",
            "created_at",
        ]
        read_only_fields = fields


class ActivationEventSerializer(serializers.ModelSerializer[ActivationEvent]):
    model: serializers.SlugRelatedField[RegisteredModel] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    from_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="version", read_only=True, allow_null=True
    )
    to_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="version", read_only=True, allow_null=True
    )

    class Meta:
        model = ActivationEvent
        fields = [
            "id",
            "model",
            "action",
            "from_version",
            "to_version",
            "actor",
            "reason",
            "details",
            "created_at",
        ]
        read_only_fields = fields


class JSONObjectField(serializers.JSONField):
    """A JSON object, given as JSON or (in multipart forms) as a JSON string."""

    def to_internal_value(self, data: object) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data else {}
            except json.JSONDecodeError as exc:
                raise serializers.ValidationError(f"Not valid JSON: {exc}.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data


class Reason(serializers.CharField):
    """Free text that must be text: DRF's CharField would store the number 0 as "0", which the schema (a
    string) does not allow; a number is refused."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("default", "")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


TRUE_WORDS, FALSE_WORDS = ("true", "1", "on", "yes"), ("false", "0", "off", "no")


@extend_schema_field({"oneOf": [{"type": "boolean"}, {"type": "string", "enum": [*TRUE_WORDS, *FALSE_WORDS]}]})
class FormBoolean(serializers.BooleanField):
    """true or false; in a form (or JSON) also one of the words a form sends for them, as the schema lists
    them (a checkbox's "on", curl's `-F force_download=1`). A number, or another word, is refused."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool) and data not in TRUE_WORDS + FALSE_WORDS:
            self.fail("invalid", input=data)
        return data is True or data in TRUE_WORDS


class VersionUploadSerializer(serializers.Serializer[Any]):
    model = serializers.SlugField()
    version = serializers.CharField(max_length=64)
    file = serializers.FileField()
    storage = serializers.ChoiceField(choices=STORAGE_KINDS, required=False)
    runtime = serializers.CharField(required=False)
    metrics = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    activate = serializers.BooleanField(required=False, default=False)
    io_signature = JSONObjectField(
        required=False,
        help_text='Inputs and outputs, {"inputs": [{"name", "datatype", "shape"}], "outputs": [...]}, for a format '
        "that does not carry them (a pickled estimator); checked against the file where it does.",
    )
    signature = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="Base64 ed25519 signature of the file's sha256 (hex) by a key in ATLAS_TRUSTED_KEYS.",
    )


class PromoteSerializer(serializers.Serializer[Any]):
    reason = Reason()
    force_download = FormBoolean(required=False, default=False)


class VersionPromoteSerializer(PromoteSerializer):
    force_signature = FormBoolean(
        required=False,
        default=False,
        help_text="Promote even when the version's signature is incompatible with the active version's.",
    )


class PromotionJobSerializer(serializers.ModelSerializer[PromotionJob]):
    model = serializers.CharField(source="version.model.name", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True)
    event = ActivationEventSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = PromotionJob
        fields = [
            "id",
            "url",
            "model",
            "version",
            "kind",
            "state",
            "bytes_done",
            "bytes_total",
            "detail",
            "event",
            "actor",
            "reason",
            "created_at",
            "updated_at",
            "heartbeat_at",
        ]
        read_only_fields = fields

    def get_url(self, job: PromotionJob) -> str:
        return reverse("registry-job-detail", args=[job.pk])


class ReloadModelsSerializer(serializers.Serializer[Any]):
    model_type = serializers.CharField()
    # None: the active version, verified and reloaded in place; "latest": the bytes at latest/ (reloads.py)
    version = serializers.CharField(required=False, allow_null=True, default=None)
    force_download = serializers.BooleanField(required=False, default=False)


class RolloutSerializer(serializers.ModelSerializer[Rollout]):
    model = serializers.CharField(source="model.name")
    stable = serializers.CharField(source="stable.version")
    candidate = serializers.CharField(source="candidate.version")

    class Meta:
        model = Rollout
        fields = [
            "id",
            "model",
            "stable",
            "candidate",
            "mode",
            "percent",
            "route_header",
            "bake_seconds",
            "min_requests",
            "max_error_rate",
            "max_p99_ratio",
            "min_agreement",
            "min_live_accuracy",
            "state",
            "figures",
            "reason",
            "started_by",
            "started_at",
            "ended_at",
        ]
        read_only_fields = fields


class RolloutStartSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(max_length=64)
    mode = serializers.ChoiceField(choices=Rollout.Mode.choices)
    percent = serializers.FloatField(default=10.0, min_value=0, max_value=100)
    bake_seconds = serializers.IntegerField(default=600, min_value=0, max_value=30 * 24 * 3600)
    min_requests = serializers.IntegerField(default=20, min_value=1, max_value=10**9)
    max_error_rate = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    max_p99_ratio = serializers.FloatField(required=False, allow_null=True, min_value=0)
    min_agreement = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    min_live_accuracy = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    reason = Reason(max_length=2000)


class RolloutStepSerializer(serializers.Serializer[Any]):
    percent = serializers.FloatField(min_value=0, max_value=100)
    reason = Reason(max_length=2000)


class TrustSerializer(serializers.Serializer[Any]):
    reason = Reason()


class SignSerializer(serializers.Serializer[Any]):
    signature = serializers.CharField(max_length=200)
