"""Issue 10, case 5: reading the registry over REST needs the view permission, as the admin requires."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

READS = {
    "/api/v1/registry/models/": "models_registry.view_registeredmodel",
    "/api/v1/registry/models/answers/": "models_registry.view_registeredmodel",
    "/api/v1/registry/versions/": "models_registry.view_modelversion",
    "/api/v1/registry/history/": "models_registry.view_activationevent",
}


def staff(*codenames: str) -> APIClient:
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", READS)
def test_staff_without_the_view_permission_cannot_read(register, url):
    register("1.0.0")

    response = staff().get(url)

    assert response.status_code == 403
    assert response.json() == {"detail": f"You need the permission '{READS[url]}'."}


def test_the_admin_refuses_the_same_user():
    response = staff().get("/admin/models_registry/modelversion/")

    assert response.status_code == 403


@pytest.mark.parametrize("url", READS)
def test_staff_with_the_view_permission_reads(register, url):
    register("1.0.0")
    codename = READS[url].split(".")[1]

    response = staff(codename).get(url)

    assert response.status_code == 200


def test_the_history_of_a_model_needs_both_view_permissions(register):
    register("1.0.0")

    refused = staff("view_registeredmodel").get("/api/v1/registry/models/answers/history/")

    assert refused.status_code == 403
    assert refused.json() == {"detail": "You need the permission 'models_registry.view_activationevent'."}
