"""Promotions off the request in the admin: an action that starts a promotion job per version (a large
artifact's fetch, sha256 and trial load then never hold the request past gunicorn's timeout), and the
jobs, read-only, with their progress (read after lost jobs are failed). Jobs are written by
models_registry.services.promotion_jobs and run by the `worker:` process."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from ..models import ModelVersion, PromotionJob
from ..services import promotion_jobs


@admin.action(description="Promote in the background (answers at once; see Promotion jobs)", permissions=["promote"])
def promote_in_background(
    modeladmin: admin.ModelAdmin[ModelVersion], request: HttpRequest, queryset: QuerySet[ModelVersion]
) -> None:
    chosen = list(queryset.select_related("model"))
    if len({version.model_id for version in chosen}) != len(chosen):
        modeladmin.message_user(request, "Choose at most one version of each model to promote.", messages.ERROR)
        return
    for version in chosen:
        job = promotion_jobs.promotion_job_start(
            version=version, actor=request.user.get_username() or "admin", reason="admin: promote in the background"
        )
        modeladmin.message_user(
            request, f"Promotion of {version} started (job {job.pk}); Promotion jobs shows its progress.", messages.INFO
        )


@admin.register(PromotionJob)
class PromotionJobAdmin(admin.ModelAdmin[PromotionJob]):
    list_display = ["id", "version", "state", "progress", "actor", "created_at", "heartbeat_at"]
    list_filter = ["state"]
    readonly_fields = [field.name for field in PromotionJob._meta.fields]

    @admin.display(description="Fetched")
    def progress(self, job: PromotionJob) -> str:
        if not job.bytes_total:
            return f"{job.bytes_done} bytes"
        return f"{min(job.bytes_done, job.bytes_total) * 100 // job.bytes_total}% of {job.bytes_total} bytes"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
        promotion_jobs.promotion_jobs_reap()
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        promotion_jobs.promotion_jobs_reap()
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromotionJob]:
        return super().get_queryset(request).select_related("version__model")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PromotionJob | None = None) -> bool:
        return False
