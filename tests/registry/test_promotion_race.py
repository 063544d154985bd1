"""Two promotions of different versions of one model, racing on PostgreSQL over two connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from models_registry import broadcast, services
from models_registry.models import ActivationEvent, ModelVersion, RegisteredModel
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]


def _another_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # pg_stat_activity is snapshotted once per transaction; take a fresh look each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_racing_promotions_serialise_into_one_pointer_and_two_ordered_events(register, monkeypatch):
    # Given two versions, and a first promotion that holds the model's row lock (its durable transaction is
    # open: it is NOTIFYing) while a second promotion starts on another connection
    v1, v2 = register("1.0.0"), register("2.0.0")
    outcome: dict[str, object] = {}

    def promote_v2_on_a_second_connection() -> None:
        try:
            version = ModelVersion.objects.select_related("model").get(pk=v2.pk)
            outcome["event"] = services.model_version_promote(version=version, actor="second")
        except Exception as exc:  # reported below
            outcome["error"] = exc
        finally:
            connections.close_all()

    racer = threading.Thread(target=promote_v2_on_a_second_connection)
    notify = broadcast.notify_activation

    def notify_while_the_second_waits(*, model_name: str, version_id: int) -> None:
        if version_id == v1.pk:
            racer.start()
            # When the second promotion reaches the locked row, it waits
            wait_until(_another_backend_waits_on_a_lock, timeout=30, what="the second promotion to wait on the lock")
        notify(model_name=model_name, version_id=version_id)

    monkeypatch.setattr(broadcast, "notify_activation", notify_while_the_second_waits)
    services.model_version_promote(version=v1, actor="first")
    racer.join(timeout=30)

    # Then the second saw the first's commit: one pointer, both moves in order
    assert "error" not in outcome, outcome.get("error")
    assert RegisteredModel.objects.get(name="answers").active_version_id == v2.pk
    events = list(ActivationEvent.objects.order_by("id").values_list("actor", "from_version_id", "to_version_id"))
    assert events == [("first", None, v1.pk), ("second", v1.pk, v2.pk)]
