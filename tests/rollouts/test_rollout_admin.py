"""Rollouts in the Django admin: start one through the service, watch its figures, abort it."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User

from models_registry.models import Rollout

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["manage_rollout", "view_rollout"]))
    client.force_login(user)
    return client


def start_form(stable, candidate, **fields):
    return {
        "model": stable.model_id,
        "candidate": candidate.pk,
        "mode": "canary",
        "percent": "10",
        "bake_seconds": "600",
        "min_requests": "20",
        "max_error_rate": "0.05",
        "max_p99_ratio": "",
        "min_agreement": "",
        "reason": "try it",
        **fields,
    }


def test_the_admin_starts_a_rollout_through_the_service_and_shows_its_figures(operator, stable, candidate):
    response = operator.post("/admin/models_registry/rollout/add/", start_form(stable, candidate))

    rollout = Rollout.objects.get()
    assert response.status_code == 302
    assert (rollout.state, rollout.candidate_id, rollout.started_by, rollout.reason) == (
        "running",
        candidate.pk,
        "ops",
        "try it",
    )
    page = operator.get(f"/admin/models_registry/rollout/{rollout.pk}/change/").content.decode()
    assert "<th>requests</th>" in page and "<td>2.0.0</td>" in page


def test_a_refused_start_is_said_on_the_page_and_starts_nothing(operator, stable):
    response = operator.post("/admin/models_registry/rollout/add/", start_form(stable, stable), follow=True)

    assert Rollout.objects.count() == 0
    assert "The rollout was not started" in response.content.decode()
    assert "already the active version" in response.content.decode()


def test_the_abort_action_stops_it_and_is_logged(operator, stable, candidate):
    operator.post("/admin/models_registry/rollout/add/", start_form(stable, candidate))
    rollout = Rollout.objects.get()

    operator.post("/admin/models_registry/rollout/", {"action": "abort", "_selected_action": [rollout.pk]})

    rollout.refresh_from_db()
    assert rollout.state == "aborted"
    assert LogEntry.objects.filter(object_id=str(rollout.pk), change_message="Aborted").count() == 1


def test_staff_without_the_permission_cannot_start_one(client, stable, candidate):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename="view_rollout"))
    client.force_login(user)

    response = client.post("/admin/models_registry/rollout/add/", start_form(stable, candidate))

    assert response.status_code == 403
    assert Rollout.objects.count() == 0
