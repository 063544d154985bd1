"""Rollouts in the admin: start one (a form that calls models_registry.services.rollouts.rollout_start), watch its
figures per version, and abort it. Needs the `manage_rollout` permission to start or abort."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import selectors
from ..models import ModelVersion, Rollout
from ..services import RegistryError, rollouts


class RolloutStartForm(forms.ModelForm[Rollout]):
    class Meta:
        model = Rollout
        fields = [
            "model",
            "candidate",
            "mode",
            "percent",
            "bake_seconds",
            "min_requests",
            "max_error_rate",
            "max_p99_ratio",
            "min_agreement",
            "min_live_accuracy",
            "reason",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        candidate = self.fields["candidate"]
        assert isinstance(candidate, forms.ModelChoiceField)
        candidate.queryset = ModelVersion.objects.select_related("model").exclude(
            status__in=[ModelVersion.Status.RETIRED, ModelVersion.Status.FAILED]
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        model, candidate = data.get("model"), data.get("candidate")
        if model and candidate and candidate.model_id != model.pk:
            raise forms.ValidationError(f"{candidate} is not a version of {model}.")
        return data


@admin.register(Rollout)
class RolloutAdmin(admin.ModelAdmin[Rollout]):
    list_display = ["model", "mode", "candidate_version", "stable_version", "percent", "state", "started_at"]
    list_filter = ["state", "mode", "model"]
    date_hierarchy = "started_at"
    actions = ["abort"]
    readonly_fields = [
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
        "figures_table",
        "reason",
        "started_by",
        "started_at",
        "ended_at",
    ]

    @admin.display(description="Candidate")
    def candidate_version(self, rollout: Rollout) -> str:
        return rollout.candidate.version

    @admin.display(description="Stable")
    def stable_version(self, rollout: Rollout) -> str:
        return rollout.stable.version

    @admin.display(description="Figures (every worker of every replica)")
    def figures_table(self, rollout: Rollout) -> str:
        figures = selectors.rollout_figures(rollout=rollout) if rollout.state == "running" else rollout.figures
        if not figures:
            return "-"
        rows = []
        for role in ("stable", "candidate"):
            part = figures.get(role, {})
            p99 = part.get("p99_seconds")
            feedback = part.get("feedback") or {}
            accuracy = feedback.get("live_accuracy")
            rows.append(
                (
                    role,
                    part.get("version", "-"),
                    part.get("requests", 0),
                    part.get("errors", 0),
                    f"{part.get('error_rate', 0):.3f}",
                    f"{p99 * 1000:.1f} ms" if p99 else "-",
                    "-" if accuracy is None else f"{accuracy:.3f} of {feedback['received']}",
                )
            )
        table = format_html(
            "<table><tr><th></th><th>version</th><th>requests</th><th>errors</th><th>error rate</th><th>p99</th>"
            "<th>live accuracy (feedback)</th></tr>{}</table>",
            format_html_join("", "<tr>" + "<td>{}</td>" * 7 + "</tr>", rows),
        )
        shadow = figures.get("shadow") or {}
        if rollout.mode == Rollout.Mode.SHADOW:
            agreement = shadow.get("agreement")
            return format_html(
                "{}<p>shadow: {} compared, {} agreed (agreement {}), {} dropped, {} errors</p>",
                table,
                shadow.get("compared", 0),
                shadow.get("agreed", 0),
                "-" if agreement is None else f"{agreement:.3f}",
                shadow.get("dropped", 0),
                shadow.get("errors", 0),
            )
        return table

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("model", "stable", "candidate")

    def get_form(self, request: HttpRequest, obj: Rollout | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = RolloutStartForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Rollout | None = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("models_registry.manage_rollout")

    def has_change_permission(self, request: HttpRequest, obj: Rollout | None = None) -> bool:
        return False  # watched, never edited: start a new one or abort this one

    def has_delete_permission(self, request: HttpRequest, obj: Rollout | None = None) -> bool:
        return False  # part of the audit

    def save_model(self, request: HttpRequest, obj: Rollout, form: Any, change: bool) -> None:
        """Start it through the service (which verifies, loads and gates the candidate first)."""
        data = {field: form.cleaned_data[field] for field in RolloutStartForm.Meta.fields}
        try:
            # The form's fields are the service's parameters (RolloutStartForm.Meta.fields).
            started = rollouts.rollout_start(actor=request.user.get_username(), **data)
        except RegistryError as exc:
            self.message_user(request, f"The rollout was not started: {exc}", messages.ERROR)
            return  # obj stays unsaved; response_add goes back to the list
        obj.pk = started.pk

    def log_addition(self, request: HttpRequest, obj: Rollout, message: Any) -> Any:
        return super().log_addition(request, obj, message) if obj.pk else None

    def response_add(self, request: HttpRequest, obj: Rollout, post_url_continue: str | None = None) -> Any:
        if obj.pk is None:
            return HttpResponseRedirect(reverse("admin:models_registry_rollout_changelist"))
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Abort the selected running rollouts", permissions=["manage"])
    def abort(self, request: HttpRequest, queryset: Any) -> None:
        for rollout in queryset.filter(state=Rollout.State.RUNNING):
            rollouts.rollout_abort(rollout=rollout, actor=request.user.get_username(), reason="aborted in the admin")
            self.log_change(request, rollout, "Aborted")
            self.message_user(request, f"Rollout of {rollout.candidate} aborted: workers return to {rollout.stable}.")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("models_registry.manage_rollout")
