"""The admin's control room: Promote and Roll back from the change pages through a confirmation page (from -> to,
figures side by side, golden gate), each move audited and in the admin log; the "serving" column; the reason
the active version cannot be deleted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from models_registry import services
from models_registry.models import (
    ActivationEvent,
    DeviceReport,
    ModelVersion,
    PromotionJob,
    RegisteredModel,
    WorkerReport,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    """A staff user who may view and change registry rows, promote and roll back."""
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    for codename in (
        "view_modelversion",
        "change_modelversion",
        "delete_modelversion",
        "view_registeredmodel",
        "change_registeredmodel",
        "promote_modelversion",
        "rollback_registeredmodel",
    ):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return user


@pytest.fixture
def two_versions(artifact):
    """answers 1.0.0 (active, accuracy 0.91) and 2.0.0 (registered, accuracy 0.94, f1 0.9)."""

    def register(version: str, metrics: dict) -> ModelVersion:
        return services.model_version_register(
            model_name="answers",
            version=version,
            source=artifact(version),
            runtime="json_answer",
            metrics=metrics,
            actor="tester",
        )

    first = register("1.0.0", {"accuracy": 0.91})
    second = register("2.0.0", {"accuracy": 0.94, "f1": 0.9})
    services.model_version_promote(version=first, actor="tester")
    return first, second


def promote_url(version: ModelVersion) -> str:
    return reverse("admin:models_registry_modelversion_promote", args=[version.pk])


def rollback_url(model: RegisteredModel) -> str:
    return reverse("admin:models_registry_registeredmodel_rollback", args=[model.pk])


def side_by_side(html: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td><td>([^<]*)</td></tr>', html)
    return {label: (now, after) for label, now, after in rows}


def test_a_version_change_page_has_a_promote_button(client, operator, two_versions):
    _, second = two_versions

    page = client.get(reverse("admin:models_registry_modelversion_change", args=[second.pk]))

    assert f'<a href="{promote_url(second)}" id="atlas-promote">Promote…</a>' in page.content.decode()


def test_no_promote_button_without_the_permission(client, operator, two_versions):
    operator.user_permissions.remove(Permission.objects.get(codename="promote_modelversion"))
    _, second = two_versions

    page = client.get(reverse("admin:models_registry_modelversion_change", args=[second.pk]))

    assert "atlas-promote" not in page.content.decode()


def test_the_promote_confirmation_shows_the_move_and_the_metrics_side_by_side(client, operator, two_versions):
    _, second = two_versions

    page = client.get(promote_url(second)).content.decode()

    assert "Promote <strong>answers</strong>: <strong>1.0.0</strong> → <strong>2.0.0</strong>." in page
    rows = side_by_side(page)
    assert (rows["version"], rows["status"], rows["accuracy"], rows["f1"]) == (
        ("1.0.0", "2.0.0"),
        ("Active", "Registered"),
        ("0.91", "0.94"),
        ("—", "0.9"),
    )
    assert ModelVersion.objects.get(pk=second.pk).model.active_version.version == "1.0.0"  # nothing moved


def test_confirming_promotes_through_the_service_and_writes_the_admin_log(client, operator, two_versions):
    first, second = two_versions

    response = client.post(promote_url(second), {"from_version": first.pk, "reason": "better accuracy"})

    assert response.status_code == 302
    assert RegisteredModel.objects.get(name="answers").active_version_id == second.pk
    event = ActivationEvent.objects.latest("id")
    assert (event.action, event.from_version_id, event.to_version_id, event.actor, event.reason) == (
        "promote",
        first.pk,
        second.pk,
        "operator",
        "better accuracy",
    )
    entry = LogEntry.objects.get()
    assert (entry.user_id, entry.object_id, entry.change_message) == (
        operator.pk,
        str(second.pk),
        "Promote: 1.0.0 → 2.0.0 (better accuracy)",
    )


def test_a_confirmation_for_a_move_that_changed_meanwhile_moves_nothing(client, operator, two_versions, artifact):
    first, second = two_versions
    third = services.model_version_register(model_name="answers", version="3.0.0", source=artifact("3.0.0"))
    services.model_version_promote(version=third, actor="someone else")  # after the page was shown

    page = client.post(promote_url(second), {"from_version": first.pk}).content.decode()

    assert RegisteredModel.objects.get(name="answers").active_version_id == third.pk
    assert 'id="atlas-changed"' in page
    assert "Promote <strong>answers</strong>: <strong>3.0.0</strong> → <strong>2.0.0</strong>." in page


def test_the_model_change_page_offers_the_rollback_target(client, operator, two_versions):
    first, second = two_versions
    services.model_version_promote(version=second, actor="tester")
    model = RegisteredModel.objects.get(name="answers")

    page = client.get(reverse("admin:models_registry_registeredmodel_change", args=[model.pk])).content.decode()

    assert f'<a href="{rollback_url(model)}" id="atlas-rollback">Roll back to 1.0.0…</a>' in page


def test_confirming_a_rollback_moves_back_and_writes_the_admin_log(client, operator, two_versions):
    first, second = two_versions
    services.model_version_promote(version=second, actor="tester")
    model = RegisteredModel.objects.get(name="answers")
    page = client.get(rollback_url(model)).content.decode()
    assert "Roll back <strong>answers</strong>: <strong>2.0.0</strong> → <strong>1.0.0</strong>." in page

    client.post(rollback_url(model), {"from_version": second.pk, "to_version": first.pk, "reason": "regression"})

    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk
    event = ActivationEvent.objects.latest("id")
    assert (event.action, event.to_version_id, event.actor, event.reason) == (
        "rollback",
        first.pk,
        "operator",
        "regression",
    )
    assert LogEntry.objects.get().change_message == "Roll back: 2.0.0 → 1.0.0 (regression)"


def test_rolling_back_without_the_permission_is_forbidden(client, operator, two_versions):
    operator.user_permissions.remove(Permission.objects.get(codename="rollback_registeredmodel"))
    first, second = two_versions
    services.model_version_promote(version=second, actor="tester")
    model = RegisteredModel.objects.get(name="answers")

    response = client.post(rollback_url(model), {"from_version": second.pk, "to_version": first.pk})

    assert response.status_code == 403
    assert RegisteredModel.objects.get(name="answers").active_version_id == second.pk


def test_the_confirmation_shows_the_golden_gate_result(client, operator, two_versions):
    _, second = two_versions
    ModelVersion.objects.filter(pk=second.pk).update(golden_set=[{"input": {}, "expected": {"answer": 1}}] * 2)
    ActivationEvent.objects.create(
        model=second.model,
        to_version=second,
        action=ActivationEvent.Action.GATE_REFUSED,
        actor="atlas",
        reason="golden gate, for tester: golden entry 1: answer is 2.0.0, expected 1",
    )

    page = client.get(promote_url(second)).content.decode()

    assert "2.0.0 carries a golden set of 2 inputs" in page
    assert "<strong>refused</strong> it: golden gate, for tester: golden entry 1: answer is 2.0.0, expected 1" in page


def test_the_models_list_shows_how_many_live_workers_serve_the_active_version(client, operator, two_versions):
    first, second = two_versions
    now = timezone.now()
    model = first.model
    for pid, version, heartbeat in [
        (1, first, now),
        (2, first, now),
        (3, second, now),  # a worker still on another version
        (4, first, now - timedelta(hours=1)),  # a worker gone quiet: not counted
    ]:
        WorkerReport.objects.create(host="h", pid=pid, model=model, version=version, heartbeat_at=now)
        WorkerReport.objects.filter(pid=pid).update(heartbeat_at=heartbeat)

    page = client.get(reverse("admin:models_registry_registeredmodel_changelist")).content.decode()

    assert '<td class="field-serving">2/3 on 1.0.0</td>' in page


def test_the_models_list_also_counts_the_edge_devices_on_the_active_version(client, operator, two_versions):
    first, second = two_versions
    WorkerReport.objects.create(host="h", pid=1, model=first.model, version=first, heartbeat_at=timezone.now())
    for device, version in [("unit-1", first), ("unit-2", first), ("unit-3", second)]:
        DeviceReport.objects.create(
            device_id=device,
            model=first.model,
            reported_version=version.version,
            version=version,
            last_seen=timezone.now(),
        )

    page = client.get(reverse("admin:models_registry_registeredmodel_changelist")).content.decode()

    assert '<td class="field-serving">1/1 on 1.0.0; devices 2/3</td>' in page


def test_deleting_the_active_version_says_why_it_is_refused(client, operator, two_versions):
    first, _ = two_versions

    response = client.post(reverse("admin:models_registry_modelversion_delete", args=[first.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert (
        "1.0.0 is the active version of answers: every worker serves it, and the history points to it. "
        "Promote another version (or roll back) first; then it can be deleted."
    ) in response.content.decode()
    assert ModelVersion.objects.filter(pk=first.pk).exists()


def test_an_inactive_version_is_deleted(client, operator, two_versions):
    _, second = two_versions

    client.post(reverse("admin:models_registry_modelversion_delete", args=[second.pk]), {"post": "yes"})

    assert not ModelVersion.objects.filter(pk=second.pk).exists()


def test_the_list_actions_write_the_admin_log_too(client, operator, two_versions):
    _, second = two_versions

    client.post(
        reverse("admin:models_registry_modelversion_changelist"),
        {"action": "promote", "_selected_action": [second.pk]},
    )

    assert LogEntry.objects.get().change_message == "Promote: 1.0.0 → 2.0.0 (admin: promote)"


@pytest.mark.django_db(transaction=True)
def test_confirming_a_large_version_promotes_it_in_the_background(
    client, operator, two_versions, settings, start_task_worker
):
    start_task_worker()
    first, second = two_versions
    settings.ATLAS_ADMIN_SYNC_PROMOTE_MB = 0  # every artifact counts as large

    response = client.post(promote_url(second), {"from_version": first.pk, "reason": "big file"})

    job = PromotionJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:models_registry_promotionjob_change", args=[job.pk])
    wait_until(
        lambda: PromotionJob.objects.get().state == "succeeded", timeout=30, what="the background promotion to end"
    )
    assert RegisteredModel.objects.get(name="answers").active_version_id == second.pk
    assert LogEntry.objects.get().change_message == f"Promotion started in the background: job {job.pk} (big file)"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("modelversion/abc/change/", 302),  # Django's "doesn't exist" redirect to the admin index
        ("modelversion/abc/delete/", 302),
        ("modelversion/abc/promote/", 404),
        ("registeredmodel/abc/change/", 302),
        ("registeredmodel/abc/rollback/", 404),
        ("modelversion/99999999999999999999/promote/", 404),
    ],
)
def test_an_admin_url_whose_id_names_no_row_is_not_a_500(admin_client, path, status):
    response = admin_client.get(f"/admin/models_registry/{path}")

    assert response.status_code == status
