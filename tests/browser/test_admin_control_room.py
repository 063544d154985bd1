"""The admin's control room in a real browser against a live two-worker gunicorn: log in, promote a version
through its confirmation page, roll it back through the model's. Screenshots: docs/img/admin-*.png (refreshed
with ATLAS_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User

from models_registry import services
from models_registry.models import ActivationEvent, RegisteredModel
from tests.factories import write_digit_npz
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "digit_classifier"


@pytest.fixture
def control_room(start_replica, collected_static, tmp_path):
    """digit_classifier 1.0.0 active and 1.3.0 registered, a superuser `operator`, and two gunicorn workers
    serving 1.0.0. Returns (replica, v1, v2)."""
    v1 = services.model_version_register(
        model_name=MODEL,
        version="1.0.0",
        source=write_digit_npz(tmp_path / "a.npz", seed=1),
        runtime="numpy_mlp",
        metrics={"accuracy": 0.912},
        actor="tester",
    )
    v2 = services.model_version_register(
        model_name=MODEL,
        version="1.3.0",
        source=write_digit_npz(tmp_path / "b.npz", seed=2),
        metrics={"accuracy": 0.947},
        actor="tester",
    )
    services.model_version_promote(version=v1, actor="tester")
    hasher = PBKDF2PasswordHasher()  # the server's hashers, not the test settings' fast one
    User.objects.create(
        username="operator", is_staff=True, is_superuser=True, password=hasher.encode("control-room", hasher.salt())
    )
    replica = start_replica(
        workers=2,
        env={
            "MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR),
            "ATLAS_STATIC_ROOT": str(collected_static),
            "ATLAS_RELOAD_POLL_SECONDS": "0.25",
            "SECURE_COOKIES": "0",  # plain HTTP on loopback
        },
    )
    pids = replica.worker_pids()
    wait_until(lambda: worker_versions(MODEL, pids) == dict.fromkeys(pids, "1.0.0"), timeout=60, what="1.0.0")
    return replica, v1, v2


def log_in(page, url: str) -> None:
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "control-room")
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def test_promoting_through_the_confirmation_page(control_room, browser_page, screenshot_dir):
    replica, v1, v2 = control_room
    page = browser_page
    log_in(page, replica.url)

    # When the operator opens 1.3.0, presses Promote and reads the confirmation
    page.goto(f"{replica.url}/admin/models_registry/modelversion/{v2.pk}/change/")
    page.click("#atlas-promote")
    move = page.locator("#atlas-move").text_content()
    page.screenshot(path=str(screenshot_dir / "admin-promote-confirm.png"), full_page=True)
    assert move.startswith("Promote digit_classifier: 1.0.0 → 1.3.0.")
    assert RegisteredModel.objects.get(name=MODEL).active_version_id == v1.pk  # nothing moved before confirming

    # And confirms, with a reason
    page.fill("#id_reason", "better accuracy")
    page.click("#atlas-confirm")
    page.wait_for_selector(".messagelist .success")

    # Then 1.3.0 is active, audited under the operator's name, and both workers serve it
    assert page.locator(".messagelist .success").text_content() == "Promote: digit_classifier 1.0.0 → 1.3.0."
    event = ActivationEvent.objects.latest("id")
    assert (event.action, event.from_version_id, event.to_version_id, event.actor, event.reason) == (
        "promote",
        v1.pk,
        v2.pk,
        "operator",
        "better accuracy",
    )
    pids = replica.worker_pids()
    wait_until(lambda: worker_versions(MODEL, pids) == dict.fromkeys(pids, "1.3.0"), timeout=30, what="1.3.0")
    page.goto(f"{replica.url}/admin/models_registry/registeredmodel/")
    assert page.locator("td.field-serving").text_content() == f"{len(pids)}/{len(pids)} on 1.3.0"
    page.screenshot(path=str(screenshot_dir / "admin-serving.png"), full_page=True)


def test_rolling_back_through_the_confirmation_page(control_room, browser_page, screenshot_dir):
    replica, v1, v2 = control_room
    services.model_version_promote(version=v2, actor="tester")
    model = RegisteredModel.objects.get(name=MODEL)
    page = browser_page
    log_in(page, replica.url)

    # When the operator opens the model, presses "Roll back to 1.0.0…" and confirms
    page.goto(f"{replica.url}/admin/models_registry/registeredmodel/{model.pk}/change/")
    assert page.locator("#atlas-rollback").text_content() == "Roll back to 1.0.0…"
    page.click("#atlas-rollback")
    assert page.locator("#atlas-move").text_content().startswith("Roll back digit_classifier: 1.3.0 → 1.0.0.")
    page.screenshot(path=str(screenshot_dir / "admin-rollback-confirm.png"), full_page=True)
    page.click("#atlas-confirm")
    page.wait_for_selector(".messagelist .success")

    # Then 1.0.0 is active again, audited, and both workers are back on it
    assert page.locator(".messagelist .success").text_content() == "Roll back: digit_classifier 1.3.0 → 1.0.0."
    event = ActivationEvent.objects.latest("id")
    assert (event.action, event.to_version_id, event.actor) == ("rollback", v1.pk, "operator")
    pids = replica.worker_pids()
    wait_until(lambda: worker_versions(MODEL, pids) == dict.fromkeys(pids, "1.0.0"), timeout=30, what="1.0.0")
