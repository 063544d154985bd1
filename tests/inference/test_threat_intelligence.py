"""The threat-intelligence service's classify/threat contract on the default (old-compatible) taxonomy:
its own sample sentences classified as it classified them, inflections matched without substring false
positives, its product mappings, and the visual, audio and multi_modal types."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from inference.management.commands import seed_demo
from inference.runtimes import threat_rules
from inference.runtimes.threat_rules import ThreatClassifier
from models_registry import services
from models_registry.models import RegisteredModel


@pytest.fixture(scope="module")
def classifier():
    return ThreatClassifier(threat_rules.default_taxonomy())


@pytest.fixture
def active_default(tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(threat_rules.default_taxonomy()))
    registered = services.model_version_register(
        model_name="threat_classifier", version="2.0.0", source=path, runtime="threat_rules", actor="t"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_promote(version=registered, actor="t")


def classify(kind, data, **extra):
    return APIClient().post("/api/v1/classify/threat", {"type": kind, "data": data, **extra}, format="json")


# The old service's own sample sentences (atlas_test_api.py, atlas_test_deployment.py,
# ATLAS_RAILWAY_DEPLOYMENT.md, ATLAS_CENTRAL_STACK_ARCHITECTURE.md) and what it answered.
# Its confidence, from its code (services/threat_classifier.py): min(0.95, 0.6 + 0.1 * n), n the winning
# category's keywords found as substrings ("Gunshots" held two: "gun" and "shot").
OLD_SAMPLES = [
    ("Someone is attacking people with a knife on the street", "weapons", 5, 0.7),
    ("Loud noise complaint from neighbors", "disturbance", 3, 0.9),
    ("Car was stolen from parking lot", "theft", 4, 0.7),
    ("Group of people fighting outside the bar", "violence", 5, 0.7),
    ("Gunshots heard near the school", "weapons", 5, 0.8),
    ("Someone is shooting outside", "weapons", 5, 0.7),
    ("Car was stolen", "theft", 4, 0.7),
    ("People fighting loudly", "violence", 5, 0.7),
    ("Someone is shooting", "weapons", 5, 0.7),
    ("Suspicious person with gun spotted near school", "weapons", 5, 0.7),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("sentence", "category", "severity", "confidence"), OLD_SAMPLES)
def test_the_old_services_sample_sentences_get_its_category_severity_and_confidence(
    active_default, sentence, category, severity, confidence
):
    response = classify("text", sentence)

    assert response.status_code == 200
    found = response.json()["classification"]
    assert (found["threat_category"], found["severity"], found["confidence"]) == (category, severity, confidence)


@pytest.mark.django_db
def test_a_weapon_sentence_answers_the_whole_old_shape_with_model_and_version(active_default):
    response = classify("text", "Gunshots heard near the school", context={"city": "Malmö"}, options={})

    body = response.json()
    assert isinstance(body.pop("processing_time_ms"), int)
    assert body == {
        "classification": {
            "threat_category": "weapons",
            "threat_subcategory": "weapon_possession",
            "severity": 5,
            "confidence": 0.8,
        },
        "product_mappings": {
            "halo_incident_type": "weapon_possession",
            "polisen_type": "Vapenbrott",
            "frontline_objects": ["gun", "knife", "weapon", "firearm"],
            "sait_threat_level": "critical",
        },
        "nearby_patterns": [],
        "recommendations": ["Immediate response recommended", "Alert nearby Halo users"],
        "keywords_matched": ["gunshot"],
        "model": "threat_classifier",
        "version": "2.0.0",
    }


def test_the_default_taxonomy_has_the_old_eight_categories_and_severity_ranges(classifier):
    ranges = {
        name: tuple(classifier.levels.index(classifier.levels[i]) + 1 for i in c.severity_range)
        for name, c in classifier.categories.items()
    }

    assert ranges == {
        "weapons": (4, 5),
        "violence": (3, 5),
        "theft": (2, 4),
        "disturbance": (1, 3),
        "vandalism": (2, 4),
        "drug_activity": (2, 4),
        "vehicle_crime": (2, 4),
        "suspicious_activity": (1, 3),
    }


@pytest.mark.parametrize(
    ("category", "halo", "polisen"),
    [
        ("violence", "assault", "Misshandel"),
        ("weapons", "weapon_possession", "Vapenbrott"),
        ("theft", "theft", "Stöld"),
        ("disturbance", "noise_complaint", "Ordningsstörning"),
        ("vandalism", "vandalism", "Skadegörelse"),
        ("drug_activity", "drug_possession", "Narkotikabrott"),
        ("vehicle_crime", "vehicle_theft", "Tillgrepp av fortskaffningsmedel"),
        ("suspicious_activity", "suspicious_person", "Misstänkt person"),
    ],
)
def test_each_category_maps_to_the_old_halo_and_polisen_types(classifier, category, halo, polisen):
    mappings = classifier.categories[category].mappings

    assert (mappings["halo_types"][0], mappings["polisen_types"][0]) == (halo, polisen)


@pytest.mark.parametrize(
    ("text", "category", "keyword"),
    [
        ("Gunshots in the park", "weapons", "gunshot"),
        ("two men fighting", "violence", "fight"),
        ("my bike was stolen", "theft", "stolen"),
        ("the shop was robbed", "theft", "rob"),
        ("an armed robbery", "weapons", "armed"),
        ("he was stabbed", "weapons", "stab"),
        ("Skottlossning i centrum", "weapons", "skott*"),
        ("Kvinna misshandlad vid busshållplatsen", "violence", "misshand*"),
        ("Inbrott i lägenhet", "theft", "inbrott*"),
        ("Klottrare på skolan", "vandalism", "klottra*"),
        ("Narkotikabrott i parken", "drug_activity", "narkotika*"),
    ],
)
def test_inflected_and_swedish_words_match_their_keyword(classifier, text, category, keyword):
    result = classifier.classify(kind="text", data=text)

    assert (result["threat_category"], result["keywords_matched"]) == (category, [keyword])


@pytest.mark.parametrize(
    "text",
    [
        "We have a problem with the printer.",  # rob
        "The shotput final was great.",  # shot
        "Begun at dawn, the gundog trial",  # gun
        "A stabilised platform",  # stab
        "The bildirectory listing",  # bil is not a keyword; skott* needs the word start
        "Noisette cake",  # noise
    ],
)
def test_a_keyword_inside_another_word_does_not_match(classifier, text):
    result = classifier.classify(kind="text", data=text)

    assert result == {
        "threat_category": "suspicious_activity",
        "severity": "minimal",
        "confidence": 0.3,
        "keywords_matched": [],
    }


@pytest.mark.django_db
def test_a_weapon_with_people_in_detections_is_weapons(active_default):
    detections = [{"class": "person", "confidence": 0.9}, {"class": "knife", "confidence": 0.8}]

    body = classify("visual", {"detections": detections}).json()

    assert body["classification"] == {
        "threat_category": "weapons",
        "threat_subcategory": "weapon_possession",
        "severity": 5,
        "confidence": 0.8,
    }


@pytest.mark.django_db
def test_a_crowd_in_detections_is_a_low_disturbance(active_default):
    detections = [{"class": "person", "confidence": 0.9}] * 4

    found = classify("visual", detections).json()["classification"]

    assert (found["threat_category"], found["severity"]) == ("disturbance", 2)


@pytest.mark.django_db
def test_a_scream_is_violence_severity_4(active_default):
    found = classify("audio", {"class_name": "scream", "confidence": 0.9}).json()["classification"]

    assert (found["threat_category"], found["severity"], found["confidence"]) == ("violence", 4, 0.9)


@pytest.mark.django_db
def test_multi_modal_takes_the_most_severe_part(active_default):
    data = {"text": "loud music next door", "audio": {"class_name": "gunshot", "confidence": 0.7}}

    found = classify("multi_modal", data).json()["classification"]

    assert (found["threat_category"], found["severity"]) == ("weapons", 5)


@pytest.mark.django_db
def test_a_media_url_is_400_naming_the_upload_endpoint(active_default):
    response = classify("visual", "https://example.com/frame.jpg")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_data",
        "detail": "For type 'visual', Atlas does not fetch media URLs; upload the file to POST "
        "/api/v1/analyze/media, or send the detections / audio result as data.",
    }


@pytest.mark.django_db
def test_a_context_that_is_not_an_object_is_400(active_default):
    response = classify("text", "a fight", context="downtown")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "detail": '"context" must be an object when given.'}


@pytest.mark.django_db
def test_seed_demo_registers_both_taxonomies_with_the_old_one_active(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(seed_demo, "DEMO_BUILDERS", ["inference.demo.threat.build"])

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())

    model = RegisteredModel.objects.get(name="threat_classifier")
    assert sorted(model.versions.values_list("version", flat=True)) == ["1.0.0", "2.1.0"]
    assert model.active_version.version == "2.1.0"
