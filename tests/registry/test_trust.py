"""Issue 10, case 6: a format that runs code when loaded loads only for a trusted or signed version.

The JSON test runtime stands in for such a format (settings.ATLAS_CODE_EXECUTING_FORMATS lists it), so
each rule is checked without unpickling anything; one test uses the real rule for a YOLO .pt."""

from __future__ import annotations

import base64
import re
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from rest_framework.test import APIClient

from inference import model_cache
from models_registry import services, trust
from models_registry.models import ActivationEvent, ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def json_runs_code(settings):
    settings.ATLAS_CODE_EXECUTING_FORMATS = {**settings.ATLAS_CODE_EXECUTING_FORMATS, "json_answer": ("json",)}


@pytest.fixture
def key(settings):
    """A trusted key pair: (private PEM); its public half is in ATLAS_TRUSTED_KEYS as 'release'."""
    private_pem, public = trust.generate_key()
    settings.ATLAS_TRUSTED_KEYS = {"release": public}
    return private_pem


def staff(*codenames: str) -> APIClient:
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_login(user)
    return client


def test_an_untrusted_yolo_pt_is_refused_before_it_is_fetched_or_loaded(tmp_path):
    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"a pickle that would run code")
    version = services.model_version_register(
        model_name="visual_detector", version="1.0.0", source=pickle, runtime="yolo", actor="t"
    )

    with pytest.raises(services.PromotionError) as refused:
        services.model_version_promote(version=version, actor="t")

    assert str(refused.value).startswith(
        "Refused to promote: visual_detector@1.0.0 is a .pt file, which runs code when loaded; it is not trusted."
    )
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.REGISTERED
    assert RegisteredModel.objects.get(name="visual_detector").active_version is None


def test_staff_without_trust_artifact_cannot_trust(register):
    version = register("1.0.0")

    response = staff("promote_modelversion").post(f"/api/v1/registry/versions/{version.pk}/trust/", {}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "You need the permission 'models_registry.trust_artifact'."}


def test_a_user_with_trust_artifact_trusts_it_on_the_record_and_it_promotes(register):
    version = register("1.0.0")
    client = staff("trust_artifact", "promote_modelversion")

    trusted = client.post(f"/api/v1/registry/versions/{version.pk}/trust/", {"reason": "our build"}, format="json")
    promoted = client.post(f"/api/v1/registry/versions/{version.pk}/promote/", {}, format="json")

    assert trusted.status_code == 200
    assert (trusted.json()["action"], trusted.json()["actor"], trusted.json()["reason"]) == (
        "trust",
        "ops",
        "our build",
    )
    assert promoted.status_code == 200
    assert ModelVersion.objects.get(pk=version.pk).trusted_by == "ops"


def test_a_signature_by_a_trusted_key_is_recorded_with_the_key_and_the_version_promotes(register, key):
    version = register("1.0.0")

    services.model_version_sign(
        version=version, signature=trust.sign(private_pem=key, sha256=version.sha256), actor="ci"
    )
    services.model_version_promote(version=version, actor="t")

    event = ActivationEvent.objects.filter(action="trust").get()
    assert (event.actor, event.reason) == ("ci", "ed25519 signature by trusted key 'release'")
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk


def test_a_signature_by_a_key_not_listed_is_refused_with_422(register, key, settings):
    version = register("1.0.0")
    other_pem, _ = trust.generate_key()
    settings.ADMIN_TOKEN = "tok"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer tok")

    response = client.post(
        f"/api/v1/registry/versions/{version.pk}/sign/",
        {"signature": trust.sign(private_pem=other_pem, sha256=version.sha256)},
        format="json",
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "The signature does not verify against answers@1.0.0's sha256 with any key in ATLAS_TRUSTED_KEYS."
    }
    assert not ActivationEvent.objects.filter(action="trust").exists()


def test_a_worker_refuses_to_load_a_version_whose_key_was_removed(register, key, settings):
    version = register("1.0.0")
    services.model_version_sign(
        version=version, signature=trust.sign(private_pem=key, sha256=version.sha256), actor="ci"
    )
    services.model_version_promote(version=version, actor="t")
    model_cache.clear()
    settings.ATLAS_TRUSTED_KEYS = {}

    with pytest.raises(model_cache.ModelUnavailable) as refused:
        model_cache.get("answers")

    assert "it is not trusted" in str(refused.value)


def test_sign_model_makes_a_key_pair_and_a_signature_that_verifies(tmp_path):
    out = StringIO()
    call_command("sign_model", "--generate-key", str(tmp_path / "release.pem"), stdout=out)
    entry = re.search(r"ATLAS_TRUSTED_KEYS on the servers: (\S+)", out.getvalue()).group(1)
    artifact = tmp_path / "model.pt"
    artifact.write_bytes(b"weights")

    signed = StringIO()
    call_command("sign_model", str(artifact), "--key", str(tmp_path / "release.pem"), stdout=signed)

    name, public = entry.split(":", 1)
    sha256, signature = (line.split(" ", 1)[1] for line in signed.getvalue().splitlines())
    assert name == "release"
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public)).verify(base64.b64decode(signature), sha256.encode())
    assert (tmp_path / "release.pem").stat().st_mode & 0o777 == 0o600


def test_the_admin_action_marks_trusted_only_for_a_user_with_trust_artifact(client, register):
    from django.urls import reverse

    version = register("1.0.0")
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_modelversion", "change_modelversion"]))
    client.force_login(user)
    url = reverse("admin:models_registry_modelversion_changelist")
    form = {"action": "mark_trusted", "_selected_action": [version.pk]}

    client.post(url, form, follow=True)
    untrusted = ModelVersion.objects.get(pk=version.pk).trusted_by
    user.user_permissions.add(Permission.objects.get(codename="trust_artifact"))
    client.post(url, form, follow=True)

    assert untrusted == ""
    assert ModelVersion.objects.get(pk=version.pk).trusted_by == "operator"
    assert ActivationEvent.objects.filter(action="trust").get().reason == "admin: mark trusted"
