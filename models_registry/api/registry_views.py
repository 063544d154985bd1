"""The registry over REST, for staff users and the admin token: models, versions, upload, promote,
rollback, retire, history. Each write is one call to models_registry.services."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from atlas.http.parsers import SafeJSONParser
from models_registry import selectors, services
from models_registry.models import ActivationEvent, ModelVersion, PromotionJob, RegisteredModel, Rollout
from models_registry.services import promotion_jobs, rollouts

from .authentication import AdminTokenAuthentication
from .filters import ActivationEventFilter, ModelVersionFilter
from .permissions import StaffWithViewPermission, can_view, require_perm
from .prefer import prefers_async
from .serializers import (
    ActivationEventSerializer,
    ModelVersionSerializer,
    PromoteSerializer,
    PromotionJobSerializer,
    RegisteredModelSerializer,
    RolloutSerializer,
    RolloutStartSerializer,
    RolloutStepSerializer,
    SignSerializer,
    TrustSerializer,
    VersionPromoteSerializer,
    VersionUploadSerializer,
)


def _actor(request: Request) -> str:
    return getattr(request.user, "username", "") or "api"


def _params(request: Request, serializer: type[serializers.Serializer[Any]], *, perm: str) -> dict[str, Any]:
    """The request's parameters, validated (a 400 otherwise), once the user holds `perm` (a 403 otherwise)."""
    require_perm(request, perm)
    params = serializer(data=request.data)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


ErrorResponse = inline_serializer("RegistryError", {"detail": serializers.CharField()})


_M = TypeVar("_M", bound=Model)


class RegistryViewSet(viewsets.GenericViewSet[_M]):
    authentication_classes = [SessionAuthentication, AdminTokenAuthentication]
    permission_classes = [StaffWithViewPermission]
    read_models: tuple[type[Model], ...] = ()


class RegisteredModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet[RegisteredModel]):
    queryset = RegisteredModel.objects.select_related("active_version")
    serializer_class = RegisteredModelSerializer
    lookup_field = "name"
    read_models = (RegisteredModel,)

    @extend_schema(request=PromoteSerializer, responses=ActivationEventSerializer)
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, name: str) -> Response:
        params = _params(request, PromoteSerializer, perm="models_registry.rollback_registeredmodel")
        event = services.model_rollback(model=self.get_object(), actor=_actor(request), reason=params["reason"])
        return Response(ActivationEventSerializer(event).data)

    @extend_schema(responses={200: RolloutSerializer, 404: ErrorResponse}, summary="The running (or last) rollout")
    @action(detail=True, methods=["get"])
    def rollout(self, request: Request, name: str) -> Response:
        """The running rollout with its figures, or else the last one."""
        require_perm(request, "models_registry.view_rollout")
        model = self.get_object()
        last = selectors.last_rollout(model=model)
        if last is None:
            return Response({"detail": f"{model.name} has had no rollout."}, status=status.HTTP_404_NOT_FOUND)
        if last.state == last.State.RUNNING:
            last.figures = selectors.rollout_figures(rollout=last)
        return Response(RolloutSerializer(last).data)

    @extend_schema(request=RolloutStartSerializer, responses={201: RolloutSerializer, 404: ErrorResponse})
    @rollout.mapping.post
    def rollout_start(self, request: Request, name: str) -> Response:
        """Start a canary or a shadow of one of the model's versions."""
        params = _params(request, RolloutStartSerializer, perm="models_registry.manage_rollout")
        model = self.get_object()
        candidate = selectors.version_named(model=model, version=params.pop("version"))
        if candidate is None:
            return Response({"detail": f"{model.name} has no such version."}, status=status.HTTP_404_NOT_FOUND)
        rollout = rollouts.rollout_start(model=model, candidate=candidate, actor=_actor(request), **params)
        return Response(RolloutSerializer(rollout).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        # PATCH, yet not a partial update: percent is required (drf-spectacular makes every PATCH body partial)
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "percent": {"type": "number", "format": "double", "minimum": 0, "maximum": 100},
                    "reason": {"type": "string", "maxLength": 2000},
                },
                "required": ["percent"],
            }
        },
        responses={200: RolloutSerializer, 409: ErrorResponse},
    )
    @rollout.mapping.patch
    def rollout_step(self, request: Request, name: str) -> Response:
        """Change the running canary's percent."""
        params = _params(request, RolloutStepSerializer, perm="models_registry.manage_rollout")
        running = self._running_rollout()
        if isinstance(running, Response):
            return running
        running = rollouts.rollout_set_percent(rollout=running, actor=_actor(request), **params)
        return Response(RolloutSerializer(running).data)

    @extend_schema(request=PromoteSerializer, responses={200: RolloutSerializer, 409: ErrorResponse})
    @rollout.mapping.delete
    def rollout_abort(self, request: Request, name: str) -> Response:
        """Abort the running rollout: the stable version answers everything again."""
        params = _params(request, PromoteSerializer, perm="models_registry.manage_rollout")
        running = self._running_rollout()
        if isinstance(running, Response):
            return running
        reason = params["reason"] or "aborted over the API"
        running = rollouts.rollout_abort(rollout=running, actor=_actor(request), reason=reason)
        return Response(RolloutSerializer(running).data)

    def _running_rollout(self) -> Rollout | Response:
        model = self.get_object()
        running = selectors.running_rollout(model=model)
        if running is None:
            return Response({"detail": f"{model.name} has no running rollout."}, status=status.HTTP_409_CONFLICT)
        return running

    @extend_schema(responses=ActivationEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, name: str) -> Response:
        if not can_view(request.user, ActivationEvent):
            require_perm(request, "models_registry.view_activationevent")
        events = selectors.history(model=self.get_object())
        return Response(ActivationEventSerializer(events, many=True).data)


class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet[ModelVersion]):
    serializer_class = ModelVersionSerializer
    read_models = (ModelVersion,)
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]
    body_limit_setting = "ATLAS_MAX_MODEL_UPLOAD_MB"  # an upload (create); checked from the headers (BodyLimits)

    queryset = ModelVersion.objects.select_related("model").order_by("model__name", "-created_at")
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModelVersionFilter

    @extend_schema(
        request={"multipart/form-data": VersionUploadSerializer},
        parameters=[
            OpenApiParameter(
                "Prefer",
                location=OpenApiParameter.HEADER,
                required=False,
                description="`respond-async` with `activate`: store the file, then answer 202 with a promotion job "
                "(poll its `url`) instead of fetching, verifying and trial-loading within the request",
            )
        ],
        responses={201: ModelVersionSerializer, 202: PromotionJobSerializer},
    )
    def create(self, request: Request) -> Response:
        """Upload a model file as a new version (multipart), optionally activating it (in the background with
        `Prefer: respond-async`)."""
        params = VersionUploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        upload = data["file"]
        require_perm(request, "models_registry.add_modelversion")
        if selectors.registered_model(name=data["model"]) is None:
            require_perm(request, "models_registry.add_registeredmodel")
        if data["activate"]:
            require_perm(request, "models_registry.promote_modelversion")
        limit_mb = settings.ATLAS_MAX_MODEL_UPLOAD_MB
        if upload.size > limit_mb * 1024 * 1024:
            return Response(
                {
                    "detail": f"The file is {upload.size / 1048576:.1f} MB; the limit is {limit_mb} MB "
                    "(ATLAS_MAX_MODEL_UPLOAD_MB). Upload it to the store and use register_model instead."
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        with tempfile.TemporaryDirectory(prefix="atlas-upload-") as scratch:
            source = Path(scratch) / "upload"  # the client's name may not fit the disk; the service checks it
            with open(source, "wb") as out:
                out.writelines(upload.chunks())
            version = services.model_version_register(
                model_name=data["model"],
                version=data["version"],
                source=source,
                filename=upload.name,
                storage=data.get("storage") or settings.MODEL_STORAGE_TYPE,
                runtime=data.get("runtime") or settings.ATLAS_KNOWN_MODELS.get(data["model"]),
                metrics=data.get("metrics"),
                metadata=data.get("metadata"),
                io_signature=data.get("io_signature"),
                notes=data["notes"],
                actor=_actor(request),
            )
        if data["signature"]:
            services.model_version_sign(version=version, signature=data["signature"], actor=_actor(request))
        if data["activate"] and prefers_async(request):
            job = promotion_jobs.promotion_job_start(version=version, actor=_actor(request), reason="upload --activate")
            return _accepted(job)
        if data["activate"]:
            services.model_version_promote(version=version, actor=_actor(request), reason="upload --activate")
            version.refresh_from_db()
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=VersionPromoteSerializer,
        parameters=[
            OpenApiParameter(
                "Prefer",
                location=OpenApiParameter.HEADER,
                required=False,
                description="`respond-async`: answer 202 with a promotion job at once (poll its `url`) instead "
                "of fetching, verifying and trial-loading within the request",
            )
        ],
        # 400: `detail`, or each field's messages (atlas.http.schema_hooks' BadRequest)
        responses={200: ActivationEventSerializer, 202: PromotionJobSerializer, 422: ErrorResponse},
    )
    @action(detail=True, methods=["post"])
    def promote(self, request: Request, pk: str) -> Response:
        params = _params(request, VersionPromoteSerializer, perm="models_registry.promote_modelversion")
        force_signature = params.pop("force_signature")
        if prefers_async(request):
            if force_signature:
                return Response(
                    {"detail": "force_signature needs a synchronous promotion (without Prefer: respond-async)."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            return _accepted(
                promotion_jobs.promotion_job_start(version=self.get_object(), actor=_actor(request), **params)
            )
        event = services.model_version_promote(
            version=self.get_object(), actor=_actor(request), force_signature=force_signature, **params
        )
        return Response(ActivationEventSerializer(event).data)

    @extend_schema(
        request=TrustSerializer,
        responses={200: ActivationEventSerializer, 403: ErrorResponse},
        summary="Vouch for a version's artifact (needed by formats that run code on load, e.g. a YOLO .pt)",
    )
    @action(detail=True, methods=["post"])
    def trust(self, request: Request, pk: str) -> Response:
        params = _params(request, TrustSerializer, perm="models_registry.trust_artifact")
        event = services.model_version_trust(version=self.get_object(), actor=_actor(request), **params)
        return Response(ActivationEventSerializer(event).data)

    @extend_schema(
        request=SignSerializer,
        responses={200: ActivationEventSerializer, 403: ErrorResponse, 422: ErrorResponse},
        summary="Attach an ed25519 signature of the version's sha256 by a key in ATLAS_TRUSTED_KEYS",
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str) -> Response:
        params = _params(request, SignSerializer, perm="models_registry.change_modelversion")
        event = services.model_version_sign(version=self.get_object(), actor=_actor(request), **params)
        return Response(ActivationEventSerializer(event).data)

    @extend_schema(request=PromoteSerializer, responses=ModelVersionSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        params = _params(request, PromoteSerializer, perm="models_registry.change_modelversion")
        version = services.model_version_retire(
            version=self.get_object(), actor=_actor(request), reason=params["reason"]
        )
        return Response(ModelVersionSerializer(version).data)


def _accepted(job: PromotionJob) -> Response:
    """202 with the promotion job to poll (RFC 7240 `Prefer: respond-async`)."""
    answer = PromotionJobSerializer(job).data
    return Response(
        answer,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": answer["url"], "Preference-Applied": "respond-async"},
    )


class PromotionJobViewSet(mixins.RetrieveModelMixin, RegistryViewSet[PromotionJob]):
    """A promotion started with `Prefer: respond-async`: state, bytes fetched, and the audit row once done."""

    serializer_class = PromotionJobSerializer
    read_models = (ModelVersion,)
    queryset = PromotionJob.objects.select_related("version__model", "event")

    @extend_schema(responses={200: PromotionJobSerializer, 404: ErrorResponse})
    def retrieve(self, request: Request, pk: str) -> Response:
        job = promotion_jobs.promotion_job_get(job_id=int(pk)) if pk.isdigit() else None
        if job is None:
            return Response({"detail": f"No promotion job {pk}."}, status=status.HTTP_404_NOT_FOUND)
        return Response(PromotionJobSerializer(job).data)


class ActivationEventViewSet(mixins.ListModelMixin, RegistryViewSet[ActivationEvent]):
    serializer_class = ActivationEventSerializer
    read_models = (ActivationEvent,)

    queryset = ActivationEvent.objects.select_related("model", "from_version", "to_version").order_by("-id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivationEventFilter
