"""Feedback on earlier predictions (POST /api/v1/training/feedback, /api/v1/sait/feedback): linked to the
version that answered, by the answer's request id or by the old fields, and each version's live accuracy
in /metrics, the admin's version page and the rollout figures."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from inference import prediction_log
from inference.runtimes import threat_rules
from models_registry import selectors, services
from models_registry.models import PredictionFeedback, PredictionRecord, Rollout
from models_registry.services.feedback import Answer
from tests.inference.test_sait import telemetry, verify, wav_base64

pytestmark = pytest.mark.django_db

ROBBERY = "They tried to rob the corner shop."


@pytest.fixture(autouse=True)
def _no_answers_of_other_tests():
    prediction_log._pending.clear()


@pytest.fixture
def promote_threat(tmp_path, django_capture_on_commit_callbacks):
    def make(version: str):
        path = tmp_path / f"taxonomy-{version}.json"
        path.write_text(json.dumps(threat_rules.extended_taxonomy()))
        registered = services.model_version_register(
            model_name="threat_classifier", version=version, source=path, runtime="threat_rules", actor="t"
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_promote(version=registered, actor="t")
        return registered

    return make


def classify(text: str) -> str:
    """The X-Request-ID of a threat classification of `text`."""
    response = APIClient().post("/api/v1/classify/threat", {"type": "text", "data": text}, format="json")
    assert response.status_code == 200
    return response["X-Request-ID"]


def training_feedback(**body):
    return APIClient().post("/api/v1/training/feedback", body, format="json")


def sait_feedback(**body):
    return APIClient().post("/api/v1/sait/feedback", body, format="json")


def test_an_answer_is_recorded_off_the_response_path_and_written_by_the_flush(promote_threat):
    promote_threat("1.0.0")
    rid = classify(ROBBERY)
    assert PredictionRecord.objects.count() == 0

    assert prediction_log.flush() == 1

    record = PredictionRecord.objects.get()
    assert (record.request_id, record.version.version, record.predicted, record.confidence) == (
        rid,
        "1.0.0",
        "property_crime",
        0.7,
    )


def test_feedback_by_request_id_links_the_version_that_answered_in_the_old_shape(promote_threat):
    promote_threat("1.0.0")
    first = classify(ROBBERY)
    promote_threat("1.1.0")
    classify(ROBBERY)

    response = training_feedback(source_product="halo", request_id=first, actual_category="property_crime")

    assert response.status_code == 200
    feedback = PredictionFeedback.objects.get()
    assert response.json() == {
        "success": True,
        "feedback_id": str(feedback.pk),
        "added_to_training_queue": False,
        "impact": {"similar_mispredictions": 0, "estimated_accuracy_improvement": None, "retraining_scheduled": None},
        "model": "threat_classifier",
        "version": "1.0.0",
        "correct": True,
        "live_accuracy": 1.0,
    }
    assert (feedback.prediction_id, feedback.predicted, feedback.confidence, feedback.source) == (
        first,
        "property_crime",
        0.7,
        "halo",
    )


def test_a_prediction_id_that_is_a_request_id_links_like_one(promote_threat):
    promote_threat("1.0.0")
    rid = classify(ROBBERY)

    body = training_feedback(prediction_id=rid, actual_category="violence").json()

    assert (body["version"], body["correct"], body["live_accuracy"]) == ("1.0.0", False, 0.0)


def test_feedback_by_the_old_fields_links_the_named_version(promote_threat):
    promote_threat("1.0.0")
    promote_threat("1.1.0")
    old_client = {
        "source_product": "halo",
        "prediction_id": "3f1c0c1e-6d2a-4f57-9a51-0f0d7b1f8c11",
        "model_version": "1.0.0",
        "predicted_category": "theft",
        "actual_category": "violence",
        "confidence_score": 0.8,
        "user_correction": True,
        "correction_metadata": {"corrected_by": "officer-12"},
    }

    response = training_feedback(**old_client)

    assert response.status_code == 200
    feedback = PredictionFeedback.objects.get()
    assert (feedback.version.version, feedback.predicted, feedback.actual, feedback.correct) == (
        "1.0.0",
        "theft",
        "violence",
        False,
    )
    assert feedback.details == {"user_correction": True, "correction_metadata": {"corrected_by": "officer-12"}}
    assert (response.json()["version"], response.json()["live_accuracy"]) == ("1.0.0", 0.0)


def test_similar_mispredictions_counts_the_same_correction_on_the_same_version(promote_threat):
    promote_threat("1.0.0")
    old = {"model_version": "1.0.0", "predicted_category": "theft"}
    for n in range(2):
        training_feedback(prediction_id=f"p{n}", actual_category="violence", **old)
    training_feedback(prediction_id="p2", actual_category="theft", **old)

    body = training_feedback(
        prediction_id="p3", model_version="1.0.0", predicted_category="Theft", actual_category="violence"
    ).json()

    assert body["impact"]["similar_mispredictions"] == 2
    assert body["live_accuracy"] == 0.25


def test_feedback_again_on_the_same_prediction_replaces_the_first(promote_threat):
    promote_threat("1.0.0")
    rid = classify(ROBBERY)
    first = training_feedback(request_id=rid, actual_category="violence").json()

    second = training_feedback(request_id=rid, actual_category="property_crime").json()

    assert second["feedback_id"] == first["feedback_id"]
    assert (second["correct"], second["live_accuracy"]) == (True, 1.0)
    assert PredictionFeedback.objects.count() == 1


def test_an_unknown_request_id_is_a_422_naming_the_field(promote_threat):
    promote_threat("1.0.0")

    response = training_feedback(request_id="never-answered", actual_category="theft")

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_feedback"
    assert [(item["loc"], item["type"]) for item in body["detail"]] == [(["body", "request_id"], "value_error")]
    assert "'never-answered'" in body["detail"][0]["msg"]
    assert PredictionFeedback.objects.count() == 0


def test_an_unknown_model_version_is_a_422_naming_the_field(promote_threat):
    promote_threat("1.0.0")

    response = training_feedback(model_version="9.9.9", predicted_category="theft", actual_category="theft")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "model_version"], "msg": "threat_classifier has no version '9.9.9'.", "type": "value_error"}
    ]


def test_a_version_that_contradicts_the_request_id_is_a_422(promote_threat):
    promote_threat("1.0.0")
    rid = classify(ROBBERY)
    promote_threat("1.1.0")

    response = training_feedback(request_id=rid, model_version="1.1.0", actual_category="theft")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "model_version"]


def test_a_body_without_the_correct_answer_is_fastapis_422():
    response = training_feedback(prediction_id="x", model_version="1.0.0", confidence_score="high")

    assert response.status_code == 422
    assert sorted((item["loc"][1], item["type"]) for item in response.json()["detail"]) == [
        ("actual_category", "missing"),
        ("confidence_score", "value_error"),
    ]


def test_sait_feedback_by_a_verify_answers_request_id_links_the_audio_version(promote_audio):
    promote_audio("1.2.0")
    answer = verify(audio_base64=wav_base64("gunshot"))

    response = sait_feedback(request_id=answer["X-Request-ID"], device_id="sait-007", actual_category="siren")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "success": True,
        "feedback_id": body["feedback_id"],
        "added_to_training_queue": False,
        "impact": {"similar_detections": 0, "estimated_accuracy_improvement": None, "retraining_scheduled": None},
        "model": "audio_classifier",
        "version": "1.2.0",
        "correct": False,
        "live_accuracy": 0.0,
    }
    assert PredictionFeedback.objects.get().predicted == answer.json()["final_category"] == "gunshot"


def test_sait_feedback_by_device_links_the_version_the_device_reports(promote_audio):
    promote_audio("1.0.0")
    promote_audio("1.2.0")
    telemetry(device_id="sait-9", model_version="1.0.0")
    sait_feedback(device_id="sait-9", predicted_category="gunshot", actual_category="gunshot")

    body = sait_feedback(device_id="sait-9", predicted_category="gunshot", actual_category="glass_break").json()

    assert (body["model"], body["version"], body["impact"]["similar_detections"], body["live_accuracy"]) == (
        "audio_classifier",
        "1.0.0",
        1,
        0.5,
    )


def test_sait_feedback_from_a_device_never_seen_is_a_422():
    response = sait_feedback(device_id="sait-404", predicted_category="gunshot", actual_category="gunshot")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "device_id"]


# --- live accuracy ------------------------------------------------------------------------------------


def _give(version: str, *verdicts: bool) -> None:
    for n, correct in enumerate(verdicts):
        training_feedback(
            prediction_id=f"{version}-{n}",
            model_version=version,
            predicted_category="theft",
            actual_category="theft" if correct else "violence",
        )


def metric_samples(client) -> dict:
    text = client.get("/metrics").content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(("atlas_feedback", "atlas_live_accuracy"))
    }


def test_live_accuracy_per_version_is_in_metrics(client, promote_threat):
    promote_threat("1.0.0")
    promote_threat("1.1.0")
    _give("1.0.0", True, True, True, False)
    _give("1.1.0", False)

    found = metric_samples(client)

    labels = (("model", "threat_classifier"),)
    assert found == {
        ("atlas_feedback_total", (*labels, ("verdict", "confirmed"), ("version", "1.0.0"))): 3.0,
        ("atlas_feedback_total", (*labels, ("verdict", "corrected"), ("version", "1.0.0"))): 1.0,
        ("atlas_feedback_total", (*labels, ("verdict", "confirmed"), ("version", "1.1.0"))): 0.0,
        ("atlas_feedback_total", (*labels, ("verdict", "corrected"), ("version", "1.1.0"))): 1.0,
        ("atlas_live_accuracy", (*labels, ("version", "1.0.0"))): 0.75,
        ("atlas_live_accuracy", (*labels, ("version", "1.1.0"))): 0.0,
    }


def test_live_accuracy_is_on_the_admins_version_page(client, promote_threat):
    version = promote_threat("1.0.0")
    other = promote_threat("1.1.0")
    _give("1.0.0", True, True, False)
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(user)

    page = client.get(f"/admin/models_registry/modelversion/{version.pk}/change/").content.decode()
    empty = client.get(f"/admin/models_registry/modelversion/{other.pk}/change/").content.decode()

    assert "0.667 (2 of 3 answers confirmed by feedback)" in page
    assert "— (no feedback yet)" in empty


def _give_verified(version, *verdicts: bool) -> None:
    """Feedback with the admin token on answers `version` gave ("theft", recorded)."""
    now = timezone.now()
    answers = [Answer(f"{version.version}-r{n}", version.pk, "theft", None, now) for n in range(len(verdicts))]
    services.prediction_records_save(answers=answers)
    for answer, correct in zip(answers, verdicts, strict=True):
        actual = "theft" if correct else "violence"
        body = {"request_id": answer.request_id, "actual_category": actual}
        response = APIClient().post("/api/v1/training/feedback", body, format="json", HTTP_AUTHORIZATION="Bearer tok")
        assert response.status_code == 200


def test_the_rollout_figures_give_each_versions_verified_live_accuracy_since_it_started(
    promote_threat, tmp_path, settings
):
    settings.ADMIN_TOKEN = "tok"
    stable = promote_threat("1.0.0")
    _give("1.0.0", False)  # before the rollout: not counted
    path = tmp_path / "candidate.json"
    path.write_text(json.dumps(threat_rules.extended_taxonomy()))
    candidate = services.model_version_register(
        model_name="threat_classifier", version="2.0.0", source=path, runtime="threat_rules", actor="t"
    )
    rollout = Rollout.objects.create(
        model=stable.model, stable=stable, candidate=candidate, mode="canary", started_by="t"
    )
    _give_verified(stable, True)
    _give_verified(candidate, True, False, True, True)
    _give("2.0.0", False, False)  # anonymous: unverified, not counted

    figures = selectors.rollout_figures(rollout=rollout)

    assert figures["stable"]["feedback"] == {"received": 1, "confirmed": 1, "live_accuracy": 1.0}
    assert figures["candidate"]["feedback"] == {"received": 4, "confirmed": 3, "live_accuracy": 0.75}


def _old_fields(**extra):
    return {"actual_category": "robbery", "model_version": "1.0.0", "predicted_category": "robbery", **extra}


def test_a_feedback_body_over_16_kb_is_a_413_and_stores_nothing(promote_threat):
    promote_threat("1.0.0")

    response = training_feedback(**_old_fields(notes="x" * 16 * 1024))

    assert (response.status_code, response.json()) == (
        413,
        {"detail": "A feedback body is at most 16384 bytes.", "error": "body_too_large"},
    )
    assert PredictionFeedback.objects.count() == 0


def test_correction_metadata_over_2_kb_is_a_422_naming_the_field(promote_threat):
    promote_threat("1.0.0")

    response = training_feedback(**_old_fields(correction_metadata={"note": "x" * 2100}))

    assert (response.status_code, response.json()["detail"]) == (
        422,
        [
            {
                "loc": ["body", "correction_metadata"],
                "msg": "correction_metadata is at most 2048 bytes of JSON.",
                "type": "value_error",
            }
        ],
    )
    assert PredictionFeedback.objects.count() == 0


def test_a_nul_in_correction_metadata_is_a_422(promote_threat):
    promote_threat("1.0.0")
    response = APIClient().post(
        "/api/v1/training/feedback",
        json.dumps(_old_fields(correction_metadata={"note": "a\u0000b"})),
        content_type="application/json",
    )

    assert (response.status_code, response.json()["detail"][0]["msg"]) == (
        422,
        "correction_metadata must not contain NUL (\\u0000) characters.",
    )


def test_a_nan_in_correction_metadata_is_a_422(promote_threat):
    promote_threat("1.0.0")
    response = APIClient().post(
        "/api/v1/training/feedback",
        '{"actual_category": "robbery", "model_version": "1.0.0", "predicted_category": "robbery", '
        '"correction_metadata": {"score": NaN}}',
        content_type="application/json",
    )

    assert (response.status_code, response.json()["detail"][0]["msg"]) == (
        422,
        "correction_metadata must be JSON without NaN or Infinity.",
    )


def test_only_the_newest_feedback_rows_are_kept(promote_threat, settings):
    promote_threat("1.0.0")
    settings.ATLAS_PREDICTION_RECORDS = 2

    for n in range(3):
        assert training_feedback(**_old_fields(prediction_id=f"p{n}")).status_code == 200

    assert sorted(PredictionFeedback.objects.values_list("prediction_id", flat=True)) == ["p1", "p2"]


@pytest.mark.parametrize(("authorization", "verified"), [("Bearer tok", True), ("Bearer wrong", False), ("", False)])
def test_feedback_by_request_id_is_verified_only_with_the_admin_token(
    promote_threat, settings, authorization, verified
):
    settings.ADMIN_TOKEN = "tok"
    promote_threat("1.0.0")
    request_id = classify(ROBBERY)

    response = APIClient().post(
        "/api/v1/training/feedback",
        {"actual_category": "robbery", "request_id": request_id},
        format="json",
        HTTP_AUTHORIZATION=authorization,
    )

    assert response.status_code == 200
    assert PredictionFeedback.objects.get().verified is verified
