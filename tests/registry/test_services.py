"""The registry's services: register, promote, roll back, retire."""

from __future__ import annotations

import hashlib

import pytest
from django.db import transaction

from inference import model_cache
from models_registry import selectors, services
from models_registry.models import ActivationEvent, ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db


def test_register_records_sha256_and_size_of_the_bytes(register, settings):
    version = register("1.0.0", answer=42)

    stored = (settings.MODEL_STORE_DIR / version.location).read_bytes()
    assert version.sha256 == hashlib.sha256(stored).hexdigest()
    assert version.size_bytes == len(stored)
    assert version.location == "models/answers/1.0.0/42-model.json"
    assert version.format == "json"
    assert version.status == ModelVersion.Status.REGISTERED
    assert version.created_by == "tester"


def test_register_refuses_a_duplicate_version(register):
    register("1.0.0")

    with pytest.raises(services.RegistryError, match="already has a version '1.0.0'"):
        register("1.0.0")


def test_register_refuses_a_version_that_is_not_a_folder_name(register):
    with pytest.raises(services.RegistryError, match="is not valid"):
        register("../1.0")


def test_register_refuses_an_unknown_runtime(artifact):
    with pytest.raises(services.RegistryError, match="Unknown runtime 'tensorflow'"):
        services.model_version_register(
            model_name="x",
            version="1",
            source=artifact(1),
            runtime="tensorflow",
            actor="t",
        )


def test_promote_moves_the_pointer_and_writes_one_audit_row(register):
    version = register("1.0.0")

    event = services.model_version_promote(version=version, actor="alice", reason="first")

    model = RegisteredModel.objects.get(name="answers")
    assert model.active_version_id == version.pk
    assert (
        event.action,
        event.from_version_id,
        event.to_version_id,
        event.actor,
        event.reason,
    ) == (
        "promote",
        None,
        version.pk,
        "alice",
        "first",
    )
    assert ActivationEvent.objects.count() == 1
    assert ModelVersion.objects.get(pk=version.pk).status == "active"


def test_promote_demotes_the_previous_version(register):
    first, second = register("1.0.0"), register("1.1.0")
    services.model_version_promote(version=first, actor="a")

    event = services.model_version_promote(version=second, actor="a")

    assert event.from_version_id == first.pk
    assert ModelVersion.objects.get(pk=first.pk).status == "inactive"


def test_promote_refuses_bytes_that_do_not_match_the_sha256(register, settings):
    good, bad = register("1.0.0"), register("2.0.0")
    services.model_version_promote(version=good, actor="a")
    (settings.MODEL_STORE_DIR / bad.location).write_text('{"answer": "tampered"}')

    with pytest.raises(services.PromotionError, match="sha256 mismatch"):
        services.model_version_promote(version=bad, actor="a")

    assert RegisteredModel.objects.get(name="answers").active_version_id == good.pk
    assert ModelVersion.objects.get(pk=bad.pk).status == "failed"
    assert ActivationEvent.objects.count() == 1


def test_promote_refuses_a_version_whose_warm_up_fails(register):
    broken = register("1.0.0", fail_warm_up=True)

    with pytest.raises(services.PromotionError, match="warm-up forward pass failed"):
        services.model_version_promote(version=broken, actor="a")

    assert RegisteredModel.objects.get(name="answers").active_version_id is None


def test_promote_of_the_active_version_is_recorded_as_a_reload(register):
    version = register("1.0.0")
    services.model_version_promote(version=version, actor="a")

    event = services.model_version_promote(version=version, actor="a")

    assert (event.action, event.from_version_id, event.to_version_id) == (
        "reload",
        version.pk,
        version.pk,
    )


def test_promote_swaps_the_model_served_by_this_process_after_commit(register, django_capture_on_commit_callbacks):
    first, second = register("1.0.0", answer="one"), register("2.0.0", answer="two")
    services.model_version_promote(version=first, actor="a")
    assert model_cache.get("answers").predictor.predict() == "one"

    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_promote(version=second, actor="a")

    assert (
        model_cache.get("answers").version,
        model_cache.get("answers").predictor.predict(),
    ) == ("2.0.0", "two")


def test_rollback_returns_to_the_version_active_before(register):
    first, second = register("1.0.0"), register("1.1.0")
    services.model_version_promote(version=first, actor="a")
    services.model_version_promote(version=second, actor="a")

    event = services.model_rollback(model=RegisteredModel.objects.get(name="answers"), actor="b")

    assert (event.action, event.from_version_id, event.to_version_id) == (
        "rollback",
        second.pk,
        first.pk,
    )
    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk


def test_repeated_rollbacks_walk_back_through_history(register):
    v1, v2, v3 = register("1.0.0"), register("2.0.0"), register("3.0.0")
    for version in (v1, v2, v3):
        services.model_version_promote(version=version, actor="a")
    model = RegisteredModel.objects.get(name="answers")

    services.model_rollback(model=model, actor="a")
    model.refresh_from_db()
    services.model_rollback(model=model, actor="a")

    model.refresh_from_db()
    assert model.active_version_id == v1.pk


def _rollback_twice(register, history: list[str]) -> list[str]:
    versions = {label: register(label) for label in dict.fromkeys(history)}
    for label in history:
        services.model_version_promote(version=versions[label], actor="a")
    reached = []
    for _ in range(2):
        model = RegisteredModel.objects.get(name="answers")
        reached.append(services.model_rollback(model=model, actor="a").to_version.version)
    return reached


def test_rollback_after_a_version_was_active_twice_walks_the_stack(register):
    assert _rollback_twice(register, ["1.0.0", "1.1.0", "1.0.0", "1.2.0"]) == ["1.0.0", "1.1.0"]


def test_rollback_from_a_reactivated_version_goes_to_the_one_before_its_latest_activation(register):
    assert _rollback_twice(register, ["1.0.1", "1.0.2", "1.0.4", "1.0.2"]) == ["1.0.4", "1.0.2"]


def test_rollback_without_an_earlier_version_is_refused(register):
    services.model_version_promote(version=register("1.0.0"), actor="a")

    with pytest.raises(services.RegistryError, match="no earlier active version"):
        services.model_rollback(model=RegisteredModel.objects.get(name="answers"), actor="a")


def test_retire_refuses_the_active_version(register):
    version = register("1.0.0")
    services.model_version_promote(version=version, actor="a")

    with pytest.raises(services.RegistryError, match="is active"):
        services.model_version_retire(version=version, actor="a")


def test_a_retired_version_cannot_be_promoted(register):
    version = register("1.0.0")
    services.model_version_retire(version=version, actor="a", reason="bad data")

    with pytest.raises(services.PromotionError, match="retired"):
        services.model_version_promote(version=version, actor="a")


def test_latest_version_orders_semantically(register):
    for text in ("v2.9.0", "v2.10.0", "v2.10.0-rc1", "v1.99.0"):
        register(text)

    latest = selectors.latest_version(model=RegisteredModel.objects.get(name="answers"))

    assert latest.version == "v2.10.0"


def test_a_second_rollback_past_a_failed_version_is_refused_not_a_reload(register, settings):
    v1, v2, v3 = register("1.0.0"), register("2.0.0"), register("3.0.0")
    for version in (v1, v2, v3):
        services.model_version_promote(version=version, actor="a")
    ModelVersion.objects.filter(pk=v2.pk).update(status=ModelVersion.Status.FAILED)
    model = RegisteredModel.objects.get(name="answers")
    assert services.model_rollback(model=model, actor="a").to_version_id == v1.pk
    model.refresh_from_db()

    with pytest.raises(services.RegistryError, match="no earlier active version"):
        services.model_rollback(model=model, actor="a")


@pytest.mark.parametrize("name", ["x/../victim", "Upper", "", "a" * 101, "dot.ted"])
def test_a_model_name_that_is_not_a_folder_name_is_refused(artifact, name):
    with pytest.raises(services.RegistryError, match="is not valid"):
        services.model_version_register(model_name=name, version="1", source=artifact(1), runtime="json_answer")


def test_a_file_format_longer_than_twenty_characters_is_refused_before_upload(tmp_path, settings):
    source = tmp_path / "m.abcdefghijklmnopqrstuvwxyz"
    source.write_text('{"answer": 1}')

    with pytest.raises(services.RegistryError, match="File format 'abcdefghijklmnopqrstuvwxyz' is not valid"):
        services.model_version_register(model_name="answers", version="1", source=source, runtime="json_answer")

    assert not (settings.MODEL_STORE_DIR / "models").exists()


@pytest.mark.django_db(transaction=True)
def test_a_promotion_is_never_folded_into_a_callers_transaction(register):
    # A caller's rollback would undo a move every worker was already told about: the move is durable.
    version = register("1.0.0")

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.model_version_promote(version=version, actor="tester")

    assert RegisteredModel.objects.get(name="answers").active_version_id is None
