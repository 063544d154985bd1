"""The admin API of the threat-intelligence service, same paths and shapes, on the registry's services.

Its reload now moves the audited active pointer and reaches every worker of every replica (the old one
touched only the worker that took the request), and every load is checked against its sha256.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import Any

import psutil
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.http.throttling import SharedScopedRateThrottle
from models_registry import artifact_cache, selectors
from models_registry.errors import RegistryError
from models_registry.models import RegisteredModel
from models_registry.redaction import without_paths
from models_registry.services import reloads
from models_registry.storage_health import storage_reachable

from .authentication import AdminTokenAuthentication
from .permissions import AdminToken
from .prefer import prefers_async
from .serializers import ReloadModelsSerializer

ACTOR = "admin-api"


class AdminAPIView(APIView):
    authentication_classes = [AdminTokenAuthentication]
    permission_classes = [AdminToken]


def _unknown_model(name: str) -> Response:
    known = sorted(selectors.registered_names())
    return Response(
        {"detail": f"Unknown model_type {name!r}.", "available_models": known},
        status=status.HTTP_400_BAD_REQUEST,
    )


def _model_or_404(name: str) -> RegisteredModel:
    model = selectors.registered_model(name=name)
    if model is None:
        raise NotFound(f"Unknown model {name!r}.")
    return model


class ReloadModelsView(AdminAPIView):
    throttle_classes = [SharedScopedRateThrottle]
    throttle_scope = "admin_reload"  # 10 a minute, like the old service

    @extend_schema(
        request=ReloadModelsSerializer,
        parameters=[
            OpenApiParameter(
                "Prefer",
                location=OpenApiParameter.HEADER,
                required=False,
                description="`respond-async`: start a promotion job per model and answer 202 at once; each "
                "result names its job (GET it with the same token)",
            )
        ],
        responses={
            200: inline_serializer(
                "ReloadModelsResponse",
                {
                    "success": serializers.BooleanField(),
                    "model_type": serializers.CharField(),
                    "version": serializers.CharField(),
                    "message": serializers.CharField(),
                    "reloaded_at": serializers.DateTimeField(),
                    "results": serializers.DictField(child=serializers.JSONField()),
                },
            ),
            202: inline_serializer(
                "ReloadModelsAcceptedResponse",
                {
                    "success": serializers.BooleanField(),
                    "model_type": serializers.CharField(),
                    "version": serializers.CharField(),
                    "message": serializers.CharField(),
                    "results": serializers.DictField(child=serializers.JSONField()),
                },
            ),
        },
        summary="Make a version active (audited) and reload it in every worker",
    )
    def post(self, request: Request) -> Response:
        params = ReloadModelsSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        name, wanted, force = (params.validated_data[k] for k in ("model_type", "version", "force_download"))
        name = selectors.model_name_for(name)  # an alias (the old S3 stem) names its registered model
        background = prefers_async(request)
        if name == "all":
            models = selectors.models_with_versions()
            results = reloads.reload_models(models, wanted=wanted, force=force, background=background, actor=ACTOR)
            return _answer(results, model_type="all", wanted=wanted, background=background)
        model = selectors.registered_model(name=name)
        if model is None:
            return _unknown_model(name)
        try:
            target = reloads.resolve_target(model, wanted, actor=ACTOR)
        except reloads.TargetError as exc:
            known = [v.version for v in selectors.versions_newest_first(model=model)]
            code = status.HTTP_409_CONFLICT if isinstance(exc, reloads.StaleLatest) else status.HTTP_400_BAD_REQUEST
            return Response({"detail": str(exc), "available_versions": known}, status=code)
        except reloads.StoreUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except RegistryError as exc:  # new bytes at latest/ that cannot be registered
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        outcome = reloads.reload_target(target, wanted=wanted, force=force, background=background, actor=ACTOR)
        if background and outcome.job is not None:
            return _answer({name: outcome}, model_type=name, wanted=wanted, background=True)
        if not outcome.success:
            return Response(
                {**_result(outcome), "model_type": name, "detail": outcome.message},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return Response(
            {
                "success": True,
                "model_type": name,
                "version": target.version.version,
                "message": f"{name} now serves {target.version.version}",
                "reloaded_at": timezone.now().isoformat(),
                "results": {name: _result(outcome)},
            }
        )


def _result(outcome: reloads.Outcome) -> dict[str, Any]:
    """One model's outcome as the answer gives it; a job is named by its URL."""
    answer: dict[str, Any] = {"success": outcome.success, "version": outcome.version, "message": outcome.message}
    if outcome.job is not None:
        url = reverse("registry-job-detail", args=[outcome.job.pk])
        answer |= {"message": f"{outcome.message}: {url}", "job": url}
    return answer


def _answer(results: dict[str, reloads.Outcome], *, model_type: str, wanted: str | None, background: bool) -> Response:
    """Every model's outcome. `version` stays the requested string, as the old service answered ("active"
    when none was given); per-model outcomes are in `results`. In the background the answer is 202 (each
    result names its job)."""
    shown = {name: _result(outcome) for name, outcome in results.items()}
    failed = sorted(name for name, outcome in results.items() if not outcome.success)
    message = "; ".join(f"{n}: {r['message']}" for n, r in shown.items()) or "no models"
    body: dict[str, Any] = {
        "success": not failed,
        "model_type": model_type,
        "version": wanted or "active",
        "message": message,
        "results": shown,
    }
    if background:
        if failed and len(failed) == len(results):
            return Response(
                {**body, "detail": f"No model could be reloaded: {message}"},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return Response(body, status=status.HTTP_202_ACCEPTED)
    body["reloaded_at"] = timezone.now().isoformat()
    if failed:
        body["detail"] = f"{len(failed)} of {len(results)} models did not reload: {', '.join(failed)}"
    return Response(body, status=status.HTTP_200_OK if not failed else status.HTTP_422_UNPROCESSABLE_ENTITY)


class ModelVersionsView(AdminAPIView):
    @extend_schema(
        summary="Versions of a model, newest first",
        responses=inline_serializer(
            "ModelVersionsResponse",
            {
                "model_name": serializers.CharField(),
                "versions": serializers.ListField(child=serializers.CharField()),
                "latest": serializers.CharField(allow_null=True),
                "active": serializers.CharField(allow_null=True),
                "storage_type": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request, model_name: str) -> Response:
        model = _model_or_404(model_name)
        versions = [v.version for v in selectors.versions_newest_first(model=model)]
        latest = selectors.latest_version(model=model)
        return Response(
            {
                "model_name": model.name,
                "versions": versions,
                "latest": latest.version if latest else None,
                "active": model.active_version.version if model.active_version else None,
                "storage_type": settings.MODEL_STORAGE_TYPE,
            }
        )


class ModelMetadataView(AdminAPIView):
    @extend_schema(
        summary="Metadata of a version (the active one by default, and for `latest`)",
        parameters=[OpenApiParameter("version", str, required=False)],
        responses=inline_serializer(
            "ModelMetadataResponse",
            {
                "version": serializers.CharField(),
                "uploaded_at": serializers.DateTimeField(),
                "accuracy": serializers.FloatField(allow_null=True),
                "file_size_mb": serializers.FloatField(),
                "sha256": serializers.CharField(),
                "metrics": serializers.DictField(),
                "metadata": serializers.DictField(),
            },
        ),
    )
    def get(self, request: Request, model_name: str) -> Response:
        model = _model_or_404(model_name)
        wanted = request.query_params.get("version")
        if not wanted or wanted == "latest":
            # The old service's `latest` was the copy in models/<name>/latest/ and its metadata.json, written
            # with the version it served: the active version here (bookkeeping keeps both equal to it).
            version = model.active_version
        else:
            version = selectors.version_named(model=model, version=wanted)
        if version is None:
            detail = f"{model.name} has no version {wanted!r}." if wanted else f"{model.name} has no active version."
            return Response({"detail": detail}, status=status.HTTP_404_NOT_FOUND)
        return Response(selectors.store_metadata(version=version))


class CacheClearView(AdminAPIView):
    @extend_schema(
        request=None,
        summary="Delete this replica's cached artifact files",
        responses=inline_serializer(
            "CacheClearResponse",
            {
                "success": serializers.BooleanField(),
                "cleared_files": serializers.ListField(child=serializers.CharField()),
                "message": serializers.CharField(),
            },
        ),
    )
    def post(self, request: Request) -> Response:
        cleared = artifact_cache.clear()
        return Response(
            {
                "success": True,
                "cleared_files": cleared,
                "message": f"Cleared {len(cleared)} cached file(s); loaded models keep serving, "
                "the next load fetches again.",
            }
        )


class HealthView(AdminAPIView):
    @extend_schema(
        summary="Service health: system, per-model workers on the active version, storage",
        responses=inline_serializer(
            "AdminHealthResponse",
            {
                "status": serializers.ChoiceField(choices=["healthy", "degraded"]),
                "timestamp": serializers.DateTimeField(),
                "system": serializers.DictField(),
                "models": serializers.DictField(),
                "storage": serializers.DictField(),
                "jobs": serializers.DictField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        loaded = loaded_models_here()
        workers = selectors.worker_summary()
        models = {}
        degraded = False
        for model in selectors.models_by_name():
            active = model.active_version.version if model.active_version else None
            mine = loaded.get(model.name)
            counts = workers.get(model.name, {"total": 0, "on_active": 0, "errors": []})
            if active and counts["on_active"] < counts["total"]:
                degraded = True
            if active and mine is not None and mine != active:  # this worker itself is off the active version
                degraded = True
            models[model.name] = {
                "loaded": mine is not None,
                "type": model.runtime,
                "device": settings.ATLAS_INFERENCE_DEVICE,
                "version": mine,
                "active_version": active,
                "workers": {"total": counts["total"], "on_active": counts["on_active"]},
                "errors": [{**error, "error": without_paths(error["error"])} for error in counts["errors"]],
            }
        reachable, storage_error = storage_reachable()
        degraded = degraded or not reachable
        disk = shutil.disk_usage(artifact_cache.cache_dir())
        return Response(
            {
                "status": "degraded" if degraded else "healthy",
                "timestamp": timezone.now().isoformat(),
                "system": {
                    "cpu_percent": psutil.cpu_percent(interval=None),
                    "memory_percent": psutil.virtual_memory().percent,
                    "disk_percent": round(100 * disk.used / disk.total, 1),
                },
                "models": models,
                "storage": {
                    **selectors.storage_summary(),
                    "reachable": reachable,
                    "error": without_paths(storage_error) or None,
                },
                "jobs": selectors.queued_jobs_summary(now=timezone.now()),
            }
        )


def loaded_models_here() -> dict[str, str]:
    """Model name -> version this process serves, from its own worker reports (the registry does not
    import `inference`; the process cache writes these reports when it loads)."""
    return selectors.versions_served_by(host=socket.gethostname(), pid=os.getpid())
