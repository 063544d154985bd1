"""The admin: a new model of any runtime in one upload, its signature on the version page, and the promote
confirmation comparing signatures, refusing an incompatible one unless forced."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from models_registry import services
from models_registry.models import ModelVersion
from tests.oip.models import write_onnx

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    for codename in ("view_modelversion", "add_modelversion", "add_registeredmodel", "promote_modelversion"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return user


@pytest.fixture
def two_onnx_versions(tmp_path):
    first = services.model_version_register(
        model_name="iris", version="1", source=write_onnx(tmp_path / "1.onnx"), runtime="onnx"
    )
    services.model_version_promote(version=first, actor="t")
    return first, services.model_version_register(
        model_name="iris", version="2", source=write_onnx(tmp_path / "2.onnx", features=5)
    )


def test_an_upload_creates_a_new_onnx_model_in_one_step(client, operator, tmp_path):
    response = client.post(
        reverse("admin:models_registry_modelversion_add"),
        {
            "new_model": "iris-new",
            "runtime": "onnx",
            "version": "1",
            "upload": SimpleUploadedFile("iris.onnx", write_onnx(tmp_path / "i.onnx").read_bytes()),
            "storage": "local",
            "metadata": "{}",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    version = ModelVersion.objects.get(model__name="iris-new")
    assert (version.model.runtime, version.io_signature["inputs"]) == (
        "onnx",
        [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}],
    )


def test_the_version_page_shows_the_signature(client, operator, two_onnx_versions):
    page = client.get(reverse("admin:models_registry_modelversion_change", args=[two_onnx_versions[1].pk]))

    assert "inputs: X FP32 [-1, 5]" in page.content.decode()


def test_the_confirmation_names_the_incompatibility_and_offers_to_force(client, operator, two_onnx_versions):
    page = client.get(reverse("admin:models_registry_modelversion_promote", args=[two_onnx_versions[1].pk]))

    text = page.content.decode()
    assert "<strong>Incompatible</strong>: input X FP32 [-1, 4] became X FP32 [-1, 5]." in text
    assert 'name="force_signature"' in text


def test_a_confirmed_promotion_is_refused_unless_forced(client, operator, two_onnx_versions):
    first, second = two_onnx_versions
    url = reverse("admin:models_registry_modelversion_promote", args=[second.pk])

    client.post(url, {"from_version": first.pk, "to_version": second.pk})
    second.model.refresh_from_db()
    refused_active = second.model.active_version.version
    client.post(url, {"from_version": first.pk, "to_version": second.pk, "force_signature": "on"})
    second.model.refresh_from_db()

    assert (refused_active, second.model.active_version.version) == ("1", "2")
