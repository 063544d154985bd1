"""Promote and roll back in the Django admin, with and without the permissions."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from models_registry import services
from models_registry.models import ActivationEvent, ModelVersion, PromotionJob, RegisteredModel, WorkerReport
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    """A staff user who may view and change registry rows, but holds no promote/rollback permission."""
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    for codename in (
        "view_modelversion",
        "change_modelversion",
        "add_modelversion",
        "delete_modelversion",
        "view_registeredmodel",
        "change_registeredmodel",
    ):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return user


def grant(user: User, codename: str) -> None:
    user.user_permissions.add(Permission.objects.get(codename=codename))


def promote_via_admin(client, version: ModelVersion):
    return client.post(
        reverse("admin:models_registry_modelversion_changelist"),
        {"action": "promote", "_selected_action": [version.pk]},
        follow=True,
    )


def test_staff_with_the_permission_promotes_from_the_admin(client, staff, register):
    grant(staff, "promote_modelversion")
    version = register("1.0.0")

    response = promote_via_admin(client, version)

    assert response.status_code == 200
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk
    assert ActivationEvent.objects.get().actor == "operator"


def test_staff_without_the_permission_cannot_promote(client, staff, register):
    version = register("1.0.0")

    response = promote_via_admin(client, version)

    assert response.status_code == 200  # the admin answers "no action selected", it does not run it
    assert RegisteredModel.objects.get(name="answers").active_version_id is None
    assert ActivationEvent.objects.count() == 0


def test_the_promote_action_is_not_offered_without_the_permission(client, staff, register):
    register("1.0.0")

    page = client.get(reverse("admin:models_registry_modelversion_changelist"))

    assert b'value="promote"' not in page.content


def test_staff_with_the_permission_rolls_back_from_the_admin(client, staff, register):
    grant(staff, "rollback_registeredmodel")
    first, second = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=first, actor="a")
    services.model_version_promote(version=second, actor="a")
    model = RegisteredModel.objects.get(name="answers")

    client.post(
        reverse("admin:models_registry_registeredmodel_changelist"),
        {"action": "roll_back", "_selected_action": [model.pk]},
        follow=True,
    )

    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk


def test_staff_without_the_permission_cannot_roll_back(client, staff, register):
    first, second = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=first, actor="a")
    services.model_version_promote(version=second, actor="a")
    model = RegisteredModel.objects.get(name="answers")

    client.post(
        reverse("admin:models_registry_registeredmodel_changelist"),
        {"action": "roll_back", "_selected_action": [model.pk]},
        follow=True,
    )

    assert RegisteredModel.objects.get(name="answers").active_version_id == second.pk


def test_a_failed_promotion_shows_its_reason_and_keeps_the_old_version(client, staff, register, settings):
    grant(staff, "promote_modelversion")
    good, bad = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=good, actor="a")
    (settings.MODEL_STORE_DIR / bad.location).write_text("{}")

    response = promote_via_admin(client, bad)

    assert b"sha256 mismatch" in response.content
    assert RegisteredModel.objects.get(name="answers").active_version_id == good.pk


def test_the_active_version_cannot_be_deleted(client, staff, register):
    version = register("1.0.0")
    services.model_version_promote(version=version, actor="a")

    response = client.post(
        reverse("admin:models_registry_modelversion_delete", args=[version.pk]),
        {"post": "yes"},
    )

    assert response.status_code == 403
    assert ModelVersion.objects.filter(pk=version.pk).exists()


def test_uploading_a_file_in_the_admin_registers_a_version_with_its_sha256(client, staff, register):
    register("1.0.0")  # creates the model
    model = RegisteredModel.objects.get(name="answers")
    payload = b'{"answer": 99}'

    response = client.post(
        reverse("admin:models_registry_modelversion_add"),
        {
            "model": model.pk,
            "version": "3.0.0",
            "upload": SimpleUploadedFile("answer.json", payload),
            "storage": "local",
            "metadata": "{}",
            "notes": "from the admin",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    version = ModelVersion.objects.get(model=model, version="3.0.0")
    assert (version.sha256, version.size_bytes, version.created_by) == (
        hashlib.sha256(payload).hexdigest(),
        len(payload),
        "operator",
    )


def test_uploading_a_duplicate_version_in_the_admin_shows_a_form_error(client, staff, register):
    register("1.0.0")
    model = RegisteredModel.objects.get(name="answers")

    response = client.post(
        reverse("admin:models_registry_modelversion_add"),
        {
            "model": model.pk,
            "version": "1.0.0",
            "upload": SimpleUploadedFile("a.json", b'{"answer": 1}'),
            "storage": "local",
            "metadata": "{}",
        },
    )

    assert response.status_code == 200
    assert b"Model version with this Model and Version already exists" in response.content
    assert model.versions.count() == 1


def test_name_and_runtime_are_read_only_once_a_model_has_versions(client, staff, register):
    register("1.0.0")
    model = RegisteredModel.objects.get(name="answers")

    page = client.get(reverse("admin:models_registry_registeredmodel_change", args=[model.pk]))

    assert page.status_code == 200
    assert (b'name="runtime"' in page.content, b'name="name"' in page.content) == (False, False)


@pytest.mark.django_db(transaction=True)
def test_an_admin_upload_runs_outside_any_database_transaction(client, staff, register, monkeypatch):
    from django.db import connection

    from models_registry.storage.local import LocalStore

    register("1.0.0")
    seen = []
    original_put = LocalStore.put

    def put_recording_the_transaction(self, **kwargs):
        seen.append(connection.in_atomic_block)
        return original_put(self, **kwargs)

    monkeypatch.setattr(LocalStore, "put", put_recording_the_transaction)

    response = client.post(
        reverse("admin:models_registry_modelversion_add"),
        {
            "model": RegisteredModel.objects.get(name="answers").pk,
            "version": "2.0.0",
            "upload": SimpleUploadedFile("b.json", b'{"answer": 2}'),
            "storage": "local",
            "metadata": "{}",
        },
    )

    assert response.status_code == 302
    assert seen == [False]


@pytest.mark.django_db(transaction=True)
def test_the_promote_action_moves_a_large_version_to_a_background_job(
    client, staff, register, settings, start_task_worker
):
    start_task_worker()
    grant(staff, "promote_modelversion")
    settings.ATLAS_ADMIN_SYNC_PROMOTE_MB = 0  # every artifact counts as large
    version = register("1.0.0")

    response = promote_via_admin(client, version)

    assert response.status_code == 200
    assert "its promotion runs in the background" in response.content.decode()
    wait_until(lambda: PromotionJob.objects.get().state == "succeeded", timeout=30, what="the background promotion")
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk


def test_the_versions_list_shows_created_times_to_the_second(client, staff, register):
    version = register("1.0.0")
    created = timezone.make_aware(datetime(2026, 1, 2, 3, 4, 5))
    ModelVersion.objects.filter(pk=version.pk).update(created_at=created)

    response = client.get(reverse("admin:models_registry_modelversion_changelist"))

    assert response.status_code == 200
    assert "2026-01-02 03:04:05" in response.content.decode()


def test_the_activation_history_shows_times_to_the_second(client, staff, register):
    grant(staff, "view_activationevent")
    services.model_version_promote(version=register("1.0.0"), actor="a")
    created = timezone.make_aware(datetime(2026, 1, 2, 3, 4, 5))
    ActivationEvent.objects.update(created_at=created)

    response = client.get(reverse("admin:models_registry_activationevent_changelist"))

    assert response.status_code == 200
    assert "2026-01-02 03:04:05" in response.content.decode()


def test_the_add_model_form_offers_the_registered_runtimes_as_choices(client, staff, settings):
    grant(staff, "add_registeredmodel")
    settings.ATLAS_RUNTIMES = {"sklearn": "x.sklearn", "onnx": "x.onnx"}

    response = client.get(reverse("admin:models_registry_registeredmodel_add"))

    choices = list(response.context["adminform"].form.fields["runtime"].choices)
    assert choices == [("onnx", "onnx"), ("sklearn", "sklearn")]


def upload_via_admin(client, *, metrics: str = "{}", version: str = "3.0.0"):
    model = RegisteredModel.objects.get(name="answers")
    return client.post(
        reverse("admin:models_registry_modelversion_add"),
        {
            "model": model.pk,
            "version": version,
            "upload": SimpleUploadedFile("answer.json", b'{"answer": 99}'),
            "storage": "local",
            "metadata": "{}",
            "metrics": metrics,
            "notes": "from the admin",
        },
    )


def test_an_admin_upload_stores_its_metrics_and_notes(client, staff, register):
    register("1.0.0")

    response = upload_via_admin(client, metrics='{"accuracy": 0.97}')

    assert response.status_code == 302
    version = ModelVersion.objects.get(model__name="answers", version="3.0.0")
    assert (version.metrics, version.notes) == ({"accuracy": 0.97}, "from the admin")


def test_an_admin_upload_with_bad_metrics_json_is_a_form_error(client, staff, register):
    register("1.0.0")

    response = upload_via_admin(client, metrics="{not json")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["metrics"] == ["Enter a valid JSON."]
    assert not ModelVersion.objects.filter(version="3.0.0").exists()


def test_an_admin_upload_with_metrics_that_are_not_an_object_is_a_form_error(client, staff, register):
    register("1.0.0")

    response = upload_via_admin(client, metrics="[1, 2]")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["metrics"] == [
        'Metrics must be a JSON object, e.g. {"accuracy": 0.97}.'
    ]


def test_an_admin_upload_of_bytes_already_registered_warns_naming_that_version(client, staff, register):
    register("1.0.0")
    upload_via_admin(client, version="3.0.0")

    response = upload_via_admin(client, version="4.0.0")

    assert response.status_code == 302
    warnings = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert warnings == ["The uploaded file has the same sha256 as version 3.0.0 of answers."]
    assert ModelVersion.objects.filter(model__name="answers", version="4.0.0").exists()


def retire_via_admin(client, version: ModelVersion):
    return client.post(
        reverse("admin:models_registry_modelversion_changelist"),
        {"action": "retire", "_selected_action": [version.pk]},
        follow=True,
    )


def test_the_retire_action_retires_a_version_and_logs_it(client, staff, register):
    version = register("1.0.0")

    retire_via_admin(client, version)

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.RETIRED
    assert LogEntry.objects.get(object_id=str(version.pk)).change_message == "Retired (admin: retire)"


def test_the_retire_action_refuses_the_active_version_with_a_message(client, staff, register):
    version = register("1.0.0")
    services.model_version_promote(version=version, actor="a")

    response = retire_via_admin(client, version)

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.ACTIVE
    errors = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    assert errors == [f"{version} is active; promote another version before retiring it."]


def test_the_versions_list_shows_how_many_live_workers_serve_each_version(client, staff, register):
    version = register("1.0.0")
    register("2.0.0")
    now = timezone.now()
    for pid in (1, 2):
        WorkerReport.objects.create(host="h", pid=pid, model=version.model, version=version, heartbeat_at=now)

    page = client.get(reverse("admin:models_registry_modelversion_changelist")).content.decode()

    assert page.count('<td class="field-serving">2 workers</td>') == 1
    assert page.count('<td class="field-serving">—</td>') == 1


def test_compare_metrics_shows_one_row_per_digit_and_one_column_per_version(client, staff, register):
    first, second = register("1.0.0"), register("2.0.0")
    ModelVersion.objects.filter(pk=first.pk).update(metrics={"accuracy": 0.9, "per_digit_accuracy": {"0": 0.98}})
    ModelVersion.objects.filter(pk=second.pk).update(metrics={"accuracy": 0.95})

    response = client.post(
        reverse("admin:models_registry_modelversion_changelist"),
        {"action": "compare_metrics", "_selected_action": [first.pk, second.pk]},
    )

    assert response.status_code == 200
    assert response.context["rows"] == [
        ("accuracy", ["0.9", "0.95"]),
        ("per_digit_accuracy 0", ["0.98", "—"]),
    ]


def test_the_retire_action_is_not_offered_without_the_change_permission(client, staff, register):
    version = register("1.0.0")
    staff.user_permissions.remove(Permission.objects.get(codename="change_modelversion"))

    retire_via_admin(client, version)

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.REGISTERED
