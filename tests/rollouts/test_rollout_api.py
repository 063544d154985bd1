"""/api/v1/registry/models/{name}/rollout: start, watch, step and abort a rollout over REST, with permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from models_registry.models import ActivationEvent, Rollout

pytestmark = pytest.mark.django_db
URL = "/api/v1/registry/models/digit_classifier/rollout/"


@pytest.fixture
def operator():
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["manage_rollout", "view_rollout", "view_registeredmodel"])
    )
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def test_an_operator_starts_watches_steps_and_aborts_a_canary(operator, stable, candidate):
    started = operator.post(URL, {"version": "2.0.0", "mode": "canary", "percent": 5, "max_error_rate": 0.05})

    assert started.status_code == 201
    body = started.json()
    assert (body["stable"], body["candidate"], body["mode"], body["percent"], body["state"]) == (
        "1.0.0",
        "2.0.0",
        "canary",
        5.0,
        "running",
    )
    watched = operator.get(URL).json()
    assert watched["figures"]["candidate"] == {
        "version": "2.0.0",
        "requests": 0,
        "errors": 0,
        "error_rate": 0.0,
        "p99_seconds": None,
        "feedback": {"received": 0, "confirmed": 0, "live_accuracy": None},
    }
    assert operator.patch(URL, {"percent": 25}).json()["percent"] == 25.0
    assert operator.delete(URL, {"reason": "enough"}).json()["state"] == "aborted"
    assert list(ActivationEvent.objects.values_list("action", "actor", "reason"))[:3] == [
        ("rollout_abort", "ops", "enough"),
        ("rollout_step", "ops", "percent 5 -> 25"),
        ("rollout_start", "ops", "canary of 2.0.0"),
    ]


def test_staff_without_the_rollout_permission_may_not_start_one(stable, candidate):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)

    response = client.post(URL, {"version": "2.0.0", "mode": "canary"})

    assert response.status_code == 403
    assert response.json() == {"detail": "You need the permission 'models_registry.manage_rollout'."}
    assert Rollout.objects.count() == 0


def test_a_second_rollout_is_refused_while_one_runs(operator, stable, candidate):
    operator.post(URL, {"version": "2.0.0", "mode": "shadow"})

    response = operator.post(URL, {"version": "2.0.0", "mode": "canary"})

    assert response.status_code == 422
    assert "already has a running rollout" in response.json()["detail"]


def test_bad_guardrails_are_a_400_naming_the_field(operator, stable, candidate):
    response = operator.post(URL, {"version": "2.0.0", "mode": "canary", "max_error_rate": 2})

    assert response.status_code == 400
    assert list(response.json()) == ["max_error_rate"]
