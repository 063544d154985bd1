"""The admin's control room: Promote and Roll back buttons on the change pages, each leading to a confirmation
page that shows the move (from -> to), both versions' figures side by side and the golden gate; the "serving"
column of the models list ("3/3 on 1.3.0", from the worker reports); and a refusal that says why when someone
deletes the active version.

Every move goes through models_registry.services (which writes the ActivationEvent) and is also written to
Django's admin log (LogEntry), like any other change made in the admin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .. import selectors, services, signatures, trust
from ..models import ActivationEvent, DeviceReport, ModelVersion, RegisteredModel, WorkerReport
from ..services import promotion_jobs

CONFIRM_TEMPLATE = "admin/models_registry/confirm_activation.html"
DELETE_REFUSED_TEMPLATE = "admin/models_registry/modelversion/delete_refused.html"


def request_actor(request: HttpRequest) -> str:
    return request.user.get_username() or "admin"


def _describe(version: ModelVersion | None) -> dict[str, Any]:
    """What the confirmation page shows of one side of the move."""
    if version is None:
        return {}
    return {
        "version": version.version,
        "status": version.get_status_display(),
        "registered": f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by or 'unknown'}",
        "sha256": version.sha256[:12],
        "file": f"{version.format}, {version.size_bytes / 1_048_576:.2f} MB, {version.storage}",
        "trust": (trust.trust_basis(version) or "NOT TRUSTED: it will not load")
        if trust.needs_trust(runtime=version.model.runtime, fmt=version.format)
        else "not needed",
    }


def side_by_side(current: ModelVersion | None, target: ModelVersion) -> list[tuple[str, Any, Any]]:
    """Rows (label, now, after): the versions' particulars, then every metric either one measured."""
    now, after = _describe(current), _describe(target)
    rows = [(label, now.get(label, "—"), after[label]) for label in after]
    keys = sorted(set(current.metrics if current else {}) | set(target.metrics))
    for key in keys:
        rows.append(
            (key, (current.metrics.get(key, "—") if current else "—"), target.metrics.get(key, "—")),
        )
    return rows


def golden_gate(target: ModelVersion) -> dict[str, Any]:
    """The golden gate of the version about to become active: how many inputs it must answer, and how its last
    gate ended (a `gate_refused` row, or an activation after the last refusal, which passed it)."""
    cases = len(target.golden_set or [])
    if not cases:
        return {"cases": 0}
    last = selectors.last_gate_event(version=target)
    if last is None:
        return {"cases": cases, "last": None}
    refused = last.action == ActivationEvent.Action.GATE_REFUSED
    return {"cases": cases, "last": {"refused": refused, "at": last.created_at, "reason": last.reason}}


def signature_change(current: ModelVersion | None, target: ModelVersion) -> dict[str, Any]:
    """Both versions' inputs and outputs, and why clients of the active one would break on the target."""

    def listed(version: ModelVersion | None, part: str) -> list[str]:
        return [signatures.describe(t) for t in (version.io_signature.get(part, []) if version else [])]

    return {
        "rows": [(part, listed(current, part), listed(target, part)) for part in ("inputs", "outputs")],
        "problems": signatures.incompatibilities(current.io_signature, target.io_signature) if current else [],
    }


def _confirm(
    admin: Any,
    request: HttpRequest,
    *,
    obj: Any,
    action: str,
    current: ModelVersion | None,
    target: ModelVersion,
    changed: bool = False,
) -> TemplateResponse:
    model = target.model
    context = {
        **admin.admin_site.each_context(request),
        "opts": admin.model._meta,
        "original": obj,
        "title": f"{action} {model.name}: {current.version if current else 'nothing'} → {target.version}?",
        "action": action,
        "model_name": model.name,
        "current": current,
        "target": target,
        "rows": side_by_side(current, target),
        "golden": golden_gate(target),
        "signature": signature_change(current, target),
        "changed": changed,
        "cancel_url": reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]),
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def _posted_id(request: HttpRequest, field: str) -> str:
    return request.POST.get(field, "")


def _id(version: ModelVersion | None) -> str:
    return str(version.pk) if version is not None else ""


class VersionControlMixin(admin.ModelAdmin[ModelVersion]):
    """ModelVersionAdmin: the Promote button and its confirmation page; the active version's delete refusal."""

    def has_promote_permission(self, request: HttpRequest) -> bool:  # the Promote action's and page's permission
        return request.user.has_perm("models_registry.promote_modelversion")

    def get_urls(self) -> list[Any]:
        urls: list[Any] = super().get_urls()
        own = [
            path(
                "<path:object_id>/promote/",
                self.admin_site.admin_view(self.promote_view),
                name="models_registry_modelversion_promote",
            )
        ]
        return own + urls

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        version = selectors.version_at(object_id)
        extra = dict(extra_context or {})
        if version is not None and self.has_promote_permission(request):
            extra["promote_url"] = reverse("admin:models_registry_modelversion_promote", args=[version.pk])
            extra["promote_label"] = "Reload…" if version.model.active_version_id == version.pk else "Promote…"
        response: HttpResponse = super().change_view(request, object_id, form_url, extra)
        return response

    def promote_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_promote_permission(request):
            raise PermissionDenied
        version = selectors.version_at(object_id)
        if version is None:
            raise Http404(f"No model version {object_id}.")
        current = version.model.active_version
        if request.method != "POST":
            return _confirm(self, request, obj=version, action="Promote", current=current, target=version)
        if _posted_id(request, "from_version") != _id(current):
            return _confirm(self, request, obj=version, action="Promote", current=current, target=version, changed=True)
        reason = request.POST.get("reason", "").strip() or "admin: promote"
        change_url = reverse("admin:models_registry_modelversion_change", args=[version.pk])
        if version.size_bytes > settings.ATLAS_ADMIN_SYNC_PROMOTE_MB * 1024 * 1024:
            # A large artifact's fetch, sha256 and trial load would hold this request past the worker timeout.
            job = promotion_jobs.promotion_job_start(version=version, actor=request_actor(request), reason=reason)
            self.log_change(request, version, f"Promotion started in the background: job {job.pk} ({reason})")
            self.message_user(
                request,
                f"{version} is {version.size_bytes / 1_048_576:.0f} MB: its promotion runs in the background "
                f"(job {job.pk}); this page shows its progress.",
                messages.INFO,
            )
            return HttpResponseRedirect(reverse("admin:models_registry_promotionjob_change", args=[job.pk]))
        try:
            event = services.model_version_promote(
                version=version,
                actor=request_actor(request),
                reason=reason,
                force_signature=request.POST.get("force_signature") == "on",
            )
        except services.RegistryError as exc:
            self.message_user(request, f"{version} was not promoted: {exc}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        moved = f"{event.from_version.version if event.from_version else 'nothing'} → {version.version}"
        self.log_change(request, version, f"{event.get_action_display()}: {moved} ({reason})")
        self.message_user(request, f"{event.get_action_display()}: {version.model.name} {moved}.", messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def has_delete_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        # The active version keeps its Delete button: delete_view then says why it is refused.
        return bool(super().has_delete_permission(request, None))

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        version = selectors.version_at(object_id)
        if version is not None and version.model.active_version_id == version.pk:
            if not super().has_delete_permission(request, version):
                raise PermissionDenied
            context = {
                **self.admin_site.each_context(request),
                "opts": ModelVersion._meta,
                "original": version,
                "title": f"{version} cannot be deleted",
                "reason": active_delete_refusal(version),
                "change_url": reverse("admin:models_registry_modelversion_change", args=[version.pk]),
            }
            return TemplateResponse(request, DELETE_REFUSED_TEMPLATE, context, status=403)
        response: HttpResponse = super().delete_view(request, object_id, extra_context)
        return response


def active_delete_refusal(version: ModelVersion) -> str:
    return (
        f"{version.version} is the active version of {version.model.name}: every worker serves it, and the "
        "history points to it. Promote another version (or roll back) first; then it can be deleted."
    )


class ModelControlMixin(admin.ModelAdmin[RegisteredModel]):
    """RegisteredModelAdmin: the Roll back button and its confirmation page, and the "serving" column."""

    def has_rollback_permission(self, request: HttpRequest) -> bool:  # the Roll back action's and page's
        return request.user.has_perm("models_registry.rollback_registeredmodel")

    def get_urls(self) -> list[Any]:
        urls: list[Any] = super().get_urls()
        own = [
            path(
                "<path:object_id>/rollback/",
                self.admin_site.admin_view(self.rollback_view),
                name="models_registry_registeredmodel_rollback",
            )
        ]
        return own + urls

    def get_queryset(self, request: HttpRequest) -> QuerySet[RegisteredModel]:
        cutoff = timezone.now() - timedelta(seconds=settings.ATLAS_WORKER_STALE_SECONDS)
        live = WorkerReport.objects.filter(model=OuterRef("pk"), heartbeat_at__gte=cutoff)
        devices = DeviceReport.objects.filter(model=OuterRef("pk"))
        annotated: QuerySet[RegisteredModel] = (
            super()
            .get_queryset(request)
            .annotate(
                workers_live=_count(live),
                workers_on_active=_count(live.filter(version_id=OuterRef("active_version_id"))),
                devices=_count(devices),
                devices_on_active=_count(devices.filter(version_id=OuterRef("active_version_id"))),
            )
        )
        return annotated

    @admin.display(description="Serving")
    def serving(self, obj: RegisteredModel) -> str:
        """'3/3 on 1.3.0': live workers (of every replica) on the active version / live workers serving the model;
        then '; devices 2/3' when edge devices report it (on the active version / all)."""
        if obj.active_version is None:
            return "—"
        on_active, live = getattr(obj, "workers_on_active", 0), getattr(obj, "workers_live", 0)  # get_queryset's
        serving = f"{on_active}/{live} on {obj.active_version.version}"
        if devices := getattr(obj, "devices", 0):  # edge devices reporting this model (SAIT telemetry)
            serving += f"; devices {getattr(obj, 'devices_on_active', 0)}/{devices}"
        return serving

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        model = selectors.model_at(object_id)
        extra = dict(extra_context or {})
        if model is not None and self.has_rollback_permission(request):
            target = selectors.rollback_target(model=model)
            if target is not None:
                extra["rollback_url"] = reverse("admin:models_registry_registeredmodel_rollback", args=[model.pk])
                extra["rollback_label"] = f"Roll back to {target.version}…"
        response: HttpResponse = super().change_view(request, object_id, form_url, extra)
        return response

    def rollback_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_rollback_permission(request):
            raise PermissionDenied
        model = selectors.model_at(object_id)
        if model is None:
            raise Http404(f"No registered model {object_id}.")
        change_url = reverse("admin:models_registry_registeredmodel_change", args=[model.pk])
        target = selectors.rollback_target(model=model)
        if target is None:
            self.message_user(request, f"{model.name} has no earlier active version to roll back to.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        current = model.active_version
        target = selectors.version_by_id(pk=target.pk)
        if request.method != "POST":
            return _confirm(self, request, obj=model, action="Roll back", current=current, target=target)
        if (_posted_id(request, "from_version"), _posted_id(request, "to_version")) != (_id(current), _id(target)):
            return _confirm(self, request, obj=model, action="Roll back", current=current, target=target, changed=True)
        reason = request.POST.get("reason", "").strip() or "admin: roll back"
        try:
            event = services.model_rollback(model=model, actor=request_actor(request), reason=reason)
        except services.RegistryError as exc:
            self.message_user(request, f"{model.name} was not rolled back: {exc}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        moved = f"{event.from_version.version if event.from_version else 'nothing'} → {target.version}"
        self.log_change(request, model, f"Roll back: {moved} ({reason})")
        self.message_user(request, f"Roll back: {model.name} {moved}.", messages.SUCCESS)
        return HttpResponseRedirect(change_url)


def _count(reports: QuerySet[WorkerReport] | QuerySet[DeviceReport]) -> Coalesce:
    counted = reports.order_by().values("model").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)
