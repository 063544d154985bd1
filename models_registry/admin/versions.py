"""The versions in the admin: the upload form (a new version's bytes, registered through
models_registry.services) and the version pages, their actions and figures. Promote and Roll back are in
control.py."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.files.uploadedfile import UploadedFile
from django.db.models import F, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from .. import selectors, services, signatures, trust
from ..models import ModelVersion, WorkerReport
from ..services import promotion_jobs
from ..storage import STORAGE_KINDS
from ..versioning import is_valid_version
from .control import VersionControlMixin, active_delete_refusal, request_actor
from .control import _count as count_reports
from .jobs import promote_in_background
from .registry import flat_metrics, with_seconds


def _runtime_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *((r, r) for r in sorted(settings.ATLAS_RUNTIMES))]


class ModelVersionUploadForm(forms.ModelForm[ModelVersion]):
    """Adding a version in the admin means uploading its file; sha256 and size come from the bytes."""

    actor = "admin"  # set per request by ModelVersionAdmin.get_form
    upload = forms.FileField(help_text="The model file (.npz, .pt, .onnx, .json, .safetensors, ...).")
    storage = forms.ChoiceField(choices=[(kind, kind) for kind in STORAGE_KINDS])
    metadata = forms.JSONField(required=False, initial=dict)
    metrics = forms.JSONField(required=False, initial=dict, help_text='A JSON object, e.g. {"accuracy": 0.97}.')
    io_signature = forms.JSONField(
        required=False,
        label="Signature",
        help_text='Inputs and outputs, {"inputs": [{"name", "datatype", "shape"}], "outputs": [...]}, for a format '
        "that does not carry them (a pickled estimator); read from the file where it does (ONNX, skops).",
    )
    new_model = forms.SlugField(required=False, help_text="Or create a new model by this name...")
    runtime = forms.ChoiceField(required=False, choices=_runtime_choices, help_text="...served by this runtime.")

    class Meta:
        model = ModelVersion
        fields = ["model", "version", "storage", "metadata", "metrics", "notes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["storage"].initial = settings.MODEL_STORAGE_TYPE
        self.fields["model"].required = False
        self.registered: ModelVersion | None = None

    def clean(self) -> dict[str, Any]:
        """An existing model, or a new one with its runtime (created here, in one step with its first version)."""
        data: dict[str, Any] = super().clean() or {}
        new_model, runtime = data.get("new_model"), data.get("runtime")
        if data.get("model") is None and not self.has_error("model"):
            if not (new_model and runtime):
                raise forms.ValidationError("Choose a model, or name a new model and its runtime.")
            try:
                data["model"] = services.registered_model_get_or_create(name=new_model, runtime=runtime)
            except services.RegistryError as exc:
                raise forms.ValidationError(str(exc)) from None
            self.instance.model = data["model"]
        return data

    def clean_version(self) -> str:
        version: str = self.cleaned_data["version"]
        if not is_valid_version(version):
            raise forms.ValidationError("Use letters, digits and . _ + - (e.g. 1.2.0).")
        return version

    def clean_metrics(self) -> dict[str, Any]:
        metrics = self.cleaned_data.get("metrics") or {}
        if not isinstance(metrics, dict):
            raise forms.ValidationError('Metrics must be a JSON object, e.g. {"accuracy": 0.97}.')
        return metrics

    def clean_upload(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["upload"]
        limit_mb = settings.ATLAS_MAX_MODEL_UPLOAD_MB
        size = upload.size or 0
        if size > limit_mb * 1024 * 1024:
            raise forms.ValidationError(
                f"The file is {size / 1048576:.1f} MB; the limit is {limit_mb} MB (ATLAS_MAX_MODEL_UPLOAD_MB). "
                "Upload it to the store and use `manage.py register_model` instead."
            )
        return upload

    def _post_clean(self) -> None:
        # The model's own validation runs first (a duplicate version is a field error); only a form
        # with no errors is registered, so the upload happens once and only for a valid version.
        super()._post_clean()  # type: ignore[misc]  # BaseModelForm's hook; django-stubs does not declare it
        if self.errors:
            return
        try:
            self.registered = _register_upload(self.cleaned_data["upload"], self.cleaned_data, actor=self.actor)
        except services.RegistryError as exc:
            self.add_error(None, str(exc))


def _register_upload(upload: UploadedFile[bytes], data: dict[str, Any], *, actor: str) -> ModelVersion:
    name = Path(upload.name or "upload").name
    with tempfile.TemporaryDirectory(prefix="atlas-upload-") as scratch:
        if hasattr(upload, "temporary_file_path"):
            source = Path(upload.temporary_file_path())
        else:
            source = Path(scratch) / "upload"  # the client's name may not fit the disk; the service checks it
            with open(source, "wb") as out:
                out.writelines(upload.chunks())
        return services.model_version_register(
            model_name=data["model"].name,
            version=data["version"],
            source=source,
            filename=name,
            storage=data["storage"],
            metadata=data.get("metadata") or {},
            metrics=data.get("metrics") or {},
            io_signature=data.get("io_signature") or None,
            notes=data.get("notes", ""),
            actor=actor,
        )


UPLOAD_FIELDS = [
    "model",
    "new_model",
    "runtime",
    "version",
    "upload",
    "storage",
    "io_signature",
    "metadata",
    "metrics",
    "notes",
]


@admin.register(ModelVersion)
class ModelVersionAdmin(VersionControlMixin, admin.ModelAdmin[ModelVersion]):
    list_display = [
        "__str__",
        "status",
        "is_active",
        "storage",
        "sha256_prefix",
        "size_mb",
        "accuracy",
        "serving",
        "created",
    ]
    list_filter = ["model", "status", "storage"]
    date_hierarchy = "created_at"
    search_fields = ["version", "model__name", "sha256", "notes"]
    readonly_fields = [
        "model",
        "version",
        "storage",
        "location",
        "bucket",
        "revision",
        "sha256",
        "size_bytes",
        "format",
        "status",
        "status_detail",
        "metrics",
        "metadata_pretty",
        "signature_pretty",
        "created_at",
        "created_by",
        "trust_status",
        "live_accuracy",
    ]
    fields = [*readonly_fields, "notes"]
    actions = ["promote", promote_in_background, "mark_trusted", "retire", "compare_metrics"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        # One subquery in the page's query (no query per row): live workers reporting this version.
        cutoff = timezone.now() - timedelta(seconds=settings.ATLAS_WORKER_STALE_SECONDS)
        live = WorkerReport.objects.filter(version_id=OuterRef("pk"), heartbeat_at__gte=cutoff)
        annotated: QuerySet[ModelVersion] = (
            super()
            .get_queryset(request)
            .select_related("model", "model__active_version")
            .annotate(workers_serving=count_reports(live))
        )
        return annotated

    @admin.display(description="Serving")
    def serving(self, obj: ModelVersion) -> str:
        n = getattr(obj, "workers_serving", 0)
        return f"{n} worker{'s' if n != 1 else ''}" if n else "—"

    def get_form(
        self, request: HttpRequest, obj: ModelVersion | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = type(
                "ModelVersionUploadForm",
                (ModelVersionUploadForm,),
                {"actor": request_actor(request)},
            )
            kwargs["fields"] = UPLOAD_FIELDS
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(
        self, request: HttpRequest, obj: ModelVersion | None = None
    ) -> list[str | list[str] | tuple[str, ...] | tuple[()]]:
        if obj is None:
            return list(UPLOAD_FIELDS)
        return [*self.readonly_fields, "notes"]

    def get_readonly_fields(self, request: HttpRequest, obj: ModelVersion | None = None) -> list[str]:
        return [] if obj is None else list(self.readonly_fields)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if object_id is None and request.method == "POST":
            # Adding a version uploads its file to the store: that must not happen inside the admin's
            # transaction (on SQLite it would hold the database's write lock for the whole upload).
            # The service opens its own short transaction for the row.
            response: HttpResponse = self._changeform_view(  # type: ignore[attr-defined]  # Django's, not in the stubs
                request, object_id, form_url, extra_context
            )
            return response
        return super().changeform_view(request, object_id, form_url, extra_context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().add_view(request, form_url, extra_context)

    # The upload form takes bodies up to the model upload limit, checked from the headers before Django reads
    # a byte (atlas.request_guard.BodyLimits); every other admin page keeps ATLAS_MAX_REQUEST_MB.
    add_view.body_limit_setting = "ATLAS_MAX_MODEL_UPLOAD_MB"  # type: ignore[attr-defined]
    # ... from a user who may add a version only: anyone else is refused before the body is read
    # (atlas.request_guard.BodyPermissionMiddleware; Django's CSRF check would read it first).
    add_view.body_permission = "models_registry.add_modelversion"  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: ModelVersion, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        registered = form.registered
        obj.pk = registered.pk
        obj.__dict__.update({k: v for k, v in registered.__dict__.items() if not k.startswith("_")})
        same_bytes = [str(other.version) for other in selectors.model_versions_with_same_bytes(version=registered)]
        if same_bytes:
            messages.warning(
                request,
                f"The uploaded file has the same sha256 as version {', '.join(same_bytes)} of {registered.model.name}.",
            )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        active = queryset.filter(model__active_version_id=F("pk"))
        for version in active.select_related("model"):
            self.message_user(request, f"Refused: {active_delete_refusal(version)}", messages.ERROR)
        if active.exists():
            queryset = queryset.exclude(pk__in=active.values("pk"))
        super().delete_queryset(request, queryset)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: ModelVersion) -> str:
        return with_seconds(obj.created_at)

    @admin.display(boolean=True, description="Active")
    def is_active(self, obj: ModelVersion) -> bool:
        return obj.model.active_version_id == obj.pk

    @admin.display(description="sha256")
    def sha256_prefix(self, obj: ModelVersion) -> str:
        return obj.sha256[:12]

    @admin.display(description="Size (MB)", ordering="size_bytes")
    def size_mb(self, obj: ModelVersion) -> str:
        return f"{obj.size_bytes / 1_048_576:.2f}"

    @admin.display(description="Accuracy")
    def accuracy(self, obj: ModelVersion) -> str:
        value = obj.metrics.get("accuracy")
        return f"{value:.4f}" if isinstance(value, int | float) else "—"

    @admin.display(description="Live accuracy")
    def live_accuracy(self, obj: ModelVersion) -> str:
        received, confirmed = selectors.feedback_counts(version_ids=[obj.pk]).get(obj.pk, (0, 0))
        if not received:
            return "— (no feedback yet)"
        return f"{confirmed / received:.3f} ({confirmed} of {received} answers confirmed by feedback)"

    @admin.display(description="Metadata")
    def metadata_pretty(self, obj: ModelVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.metadata, indent=2, sort_keys=True))

    @admin.display(description="Signature")
    def signature_pretty(self, obj: ModelVersion) -> str:
        if not obj.io_signature:
            return "— (none recorded: a runtime without tensors, or registered before signatures)"
        lines = [f"{part}: {signatures.describe(t)}" for part in ("inputs", "outputs") for t in obj.io_signature[part]]
        return format_html("<pre>{}</pre>", "\n".join(lines))

    @admin.action(
        description="Promote (make active; fetch, verify sha256, load and warm up first)",
        permissions=["promote"],
    )
    def promote(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        per_model: dict[int, list[ModelVersion]] = {}
        for version in queryset.select_related("model"):
            per_model.setdefault(version.model_id, []).append(version)
        for versions in per_model.values():
            if len(versions) > 1:
                self.message_user(
                    request,
                    f"Choose one version of {versions[0].model.name} to promote, not {len(versions)}.",
                    messages.ERROR,
                )
                continue
            version = versions[0]
            if version.size_bytes > settings.ATLAS_ADMIN_SYNC_PROMOTE_MB * 1024 * 1024:  # too large for one request
                actor, reason = request_actor(request), "admin: promote"
                job = promotion_jobs.promotion_job_start(version=version, actor=actor, reason=reason)
                self.log_change(request, version, f"Promotion started in the background: job {job.pk} ({reason})")
                message = f"{version} is large: its promotion runs in the background (Promotion jobs, job {job.pk})."
                self.message_user(request, message, messages.INFO)
                continue
            try:
                event = services.model_version_promote(
                    version=version, actor=request_actor(request), reason="admin: promote"
                )
            except services.RegistryError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                moved = f"{event.from_version.version if event.from_version else 'nothing'} → {version.version}"
                self.log_change(request, version, f"{event.get_action_display()}: {moved} (admin: promote)")
                self.message_user(
                    request,
                    f"{version} is now active ({event.action}).",
                    messages.SUCCESS,
                )

    # --- trust (issue 10): formats that run code on load need a trusted or signed version --------------

    @admin.display(description="Trust")
    def trust_status(self, obj: ModelVersion) -> str:
        if not trust.needs_trust(runtime=obj.model.runtime, fmt=obj.format):
            return "Not needed: this format does not run code when loaded."
        return trust.trust_basis(obj) or "NOT TRUSTED: it will not load (mark it trusted, or sign it: sign_model)."

    def has_trust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("models_registry.trust_artifact")

    @admin.action(description="Mark trusted (its file may run code when loaded)", permissions=["trust"])
    def mark_trusted(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset.select_related("model"):
            services.model_version_trust(version=version, actor=request_actor(request), reason="admin: mark trusted")
            self.log_change(request, version, "Marked trusted (admin: mark trusted)")
            self.message_user(request, f"{version} is marked trusted by {request_actor(request)}.", messages.SUCCESS)

    @admin.action(description="Compare metrics", permissions=["view"])
    def compare_metrics(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> TemplateResponse:
        versions = list(queryset.select_related("model").order_by("model__name", "created_at"))
        flat = [flat_metrics(v.metrics or {}) for v in versions]
        names = sorted({name for metrics in flat for name in metrics})
        rows = [(name, [metrics.get(name, "—") for metrics in flat]) for name in names]
        context = {**self.admin_site.each_context(request), "versions": versions, "rows": rows}
        return TemplateResponse(request, "admin/models_registry/compare_metrics.html", context)

    @admin.action(description="Retire selected versions", permissions=["change"])
    def retire(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset.select_related("model"):
            try:
                services.model_version_retire(version=version, actor=request_actor(request), reason="admin: retire")
            except services.RegistryError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.log_change(request, version, "Retired (admin: retire)")
            self.message_user(request, f"{version} is retired.", messages.SUCCESS)
