"""The threat_rules runtime on the default taxonomy, and POST /api/v1/classify/threat through the real
registry (a new taxonomy version changes the answer once promoted)."""

from __future__ import annotations

import copy
import json

import pytest
from rest_framework.test import APIClient

from inference.demo import threat as demo_threat
from inference.runtimes import threat_rules
from inference.runtimes.threat_rules import TaxonomyError, ThreatClassifier, ThreatInputError
from models_registry import services


@pytest.fixture(scope="module")
def classifier():
    return ThreatClassifier(threat_rules.extended_taxonomy())


def taxonomy(**changes) -> dict:
    result = copy.deepcopy(threat_rules.extended_taxonomy())
    result.update(changes)
    return result


# --- text ---------------------------------------------------------------------------------------------


def test_a_keyword_inside_a_longer_word_does_not_match(classifier):
    result = classifier.classify(kind="text", data="We have a problem with the printer.")

    assert result == {
        "threat_category": "none",
        "severity": "none",
        "confidence": 1.0,
        "keywords_matched": [],
    }


def test_a_whole_word_matches_whatever_its_case(classifier):
    result = classifier.classify(kind="text", data="They tried to ROB the corner shop.")

    assert result == {
        "threat_category": "property_crime",
        "severity": "medium",
        "confidence": 0.7,
        "keywords_matched": ["rob"],
    }


def test_a_phrase_matches_across_any_whitespace_and_a_hyphenated_keyword_whole(classifier):
    result = classifier.classify(kind="text", data="Armed\n  robbery after a break-in; nothing breaking in.")

    assert result["threat_category"] == "property_crime"
    assert result["keywords_matched"] == ["armed robbery", "break-in"]


def test_matched_keywords_add_up_and_raise_the_severity_within_the_range(classifier):
    # theft 0.7, vandalism 0.6: 1 - 0.3 * 0.4 = 0.88; range low..high, threshold 0.4 -> 80% of the way.
    result = classifier.classify(kind="text", data="Theft and vandalism at the depot, theft again.")

    assert result == {
        "threat_category": "property_crime",
        "severity": "high",
        "confidence": 0.88,
        "keywords_matched": ["theft", "vandalism"],
    }


def test_a_category_below_its_threshold_is_no_threat(classifier):
    result = classifier.classify(kind="text", data="Fresh graffiti on the wall.")  # 0.3 < threshold 0.4

    assert result == {
        "threat_category": "none",
        "severity": "none",
        "confidence": 0.7,
        "keywords_matched": [],
    }


def test_the_most_confident_category_wins(classifier):
    result = classifier.classify(kind="text", data="Shots fired near the bank; someone stole a bike.")

    assert (result["threat_category"], result["severity"], result["keywords_matched"]) == (
        "violent_crime",
        "critical",
        ["shots fired"],
    )


def test_severity_is_the_low_end_at_the_threshold_and_the_high_end_at_certainty():
    classifier = ThreatClassifier(
        {
            "severity_levels": ["none", "low", "medium", "high"],
            "categories": {
                "c": {"keywords": {"a": 0.5, "b": 1.0}, "severity_range": ["low", "high"], "threshold": 0.5}
            },
        }
    )

    assert classifier.classify(kind="text", data="a")["severity"] == "low"
    assert classifier.classify(kind="text", data="b")["severity"] == "high"
    assert [classifier.severity("c", x) for x in (0.5, 0.66, 0.67, 0.84, 0.99)] == [
        "low", "low", "medium", "high", "high"
    ]  # fmt: skip


# --- detections and sounds ----------------------------------------------------------------------------


def test_a_weapon_among_detections_is_violent_crime(classifier):
    detections = [{"class": "person", "confidence": 0.9}, {"class": "knife", "confidence": 0.8}]

    result = classifier.classify(kind="visual", data=detections)

    assert result == {
        "threat_category": "violent_crime",
        "severity": "critical",
        "confidence": 0.8,
        "keywords_matched": ["knife"],
    }


def test_a_whole_detect_response_is_accepted(classifier):
    response = {"detections": [{"class": "person", "class_id": 0, "confidence": 0.9, "bbox": [0, 0, 1, 1]}] * 15}

    result = classifier.classify(kind="visual", data=response)

    assert (result["threat_category"], result["keywords_matched"]) == ("public_disorder", ["person"])


def test_a_few_people_are_no_threat(classifier):
    result = classifier.classify(kind="visual", data=[{"class": "person", "confidence": 0.9}] * 3)

    assert result["threat_category"] == "none"


def test_a_gunshot_sound_is_violent_crime(classifier):
    result = classifier.classify(kind="audio", data={"class_name": "gunshot", "confidence": 0.9, "class_id": 1})

    assert result == {
        "threat_category": "violent_crime",
        "severity": "critical",
        "confidence": 0.9,
        "keywords_matched": ["gunshot"],
    }


def test_an_unsure_sound_is_no_threat(classifier):
    result = classifier.classify(kind="audio", data={"class_name": "gunshot", "confidence": 0.3})

    assert result == {
        "threat_category": "none",
        "severity": "none",
        "confidence": 1.0,
        "keywords_matched": [],
    }


# --- bad input and bad taxonomies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("text", "   ", "For type 'text', data must be a non-empty string."),
        ("text", 42, "For type 'text', data must be a non-empty string."),
        ("visual", "knife", "For type 'visual', data must be a list of detections"),
        ("visual", [{"class": "knife"}], "data[0].confidence must be a number in 0..1, got None."),
        ("visual", [{"confidence": 0.5}], "data[0] must be an object with a string 'class'."),
        ("audio", [], "For type 'audio', data must be an audio classify response"),
        (
            "audio",
            {"class_name": "gunshot", "confidence": 2},
            "data.confidence must be a number in 0..1, got 2.",
        ),
    ],
)
def test_data_that_does_not_fit_its_type_is_refused(classifier, kind, data, message):
    with pytest.raises(ThreatInputError) as caught:
        classifier.classify(kind=kind, data=data)

    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": {}}, "taxonomy.categories is empty."),
        ({"severity_levels": "low"}, "taxonomy.severity_levels must be a list, got str."),
        (
            {"categories": {"x": {"keywords": ["a"], "severity_range": ["low", "mega"]}}},
            "categories.x.severity_range must be two of",
        ),
        (
            {"categories": {"x": {"keywords": ["a"], "severity_range": ["low", "low"], "threshold": 1.5}}},
            "categories.x.threshold must be a number in 0..1, got 1.5.",
        ),
        (
            {"visual_rules": [{"category": "nope", "classes": ["knife"]}]},
            "visual_rules[0].category 'nope' is not",
        ),
        ({"schema": "other/2"}, "Unknown taxonomy schema 'other/2'"),
        (
            {"categories": {"x": {"keywords": [" *"], "severity_range": ["low", "low"]}}},
            "categories.x.keywords['*']: a word prefix needs letters before the '*'.",
        ),
        ({"severity_rule": "loudest"}, "taxonomy.severity_rule must be one of ('scaled', 'highest'), got 'loudest'."),
        (
            {"categories": {"x": {"keywords": ["a"], "severity_range": ["low", "low"], "mappings": {"halo": "a"}}}},
            "categories.x.mappings must be an object of lists of names.",
        ),
    ],
)
def test_a_malformed_taxonomy_is_refused_naming_the_place(change, message):
    with pytest.raises(TaxonomyError) as caught:
        ThreatClassifier(taxonomy(**change))

    assert str(caught.value).startswith(message)


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_text("{not json")

    with pytest.raises(TaxonomyError, match="taxonomy.json is not valid JSON"):
        threat_rules.load(path, metadata={})


# --- the endpoint, through the registry ---------------------------------------------------------------


@pytest.fixture
def promote(tmp_path, django_capture_on_commit_callbacks):
    def make(version: str, content: dict):
        path = tmp_path / f"taxonomy-{version}.json"
        path.write_text(json.dumps(content))
        registered = services.model_version_register(
            model_name="threat_classifier", version=version, source=path, runtime="threat_rules", actor="t"
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_promote(version=registered, actor="t")
        return registered

    return make


def classify(kind, data):
    return APIClient().post("/api/v1/classify/threat", {"type": kind, "data": data}, format="json")


@pytest.mark.django_db
def test_classify_threat_on_the_extended_taxonomy_answers_the_old_shape(promote):
    promote("1.0.0", threat_rules.extended_taxonomy())

    response = classify("text", "A man was robbed at knifepoint, no problem.")

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body.pop("processing_time_ms"), int)
    assert body == {
        "classification": {
            "threat_category": "property_crime",
            "threat_subcategory": "property_crime",
            "severity": 3,
            "confidence": 0.7,
        },
        "product_mappings": {
            "halo_incident_type": "property_crime",
            "polisen_type": "Annan händelse",
            "frontline_objects": [],
            "sait_threat_level": "moderate",
        },
        "nearby_patterns": [],
        "recommendations": ["Monitor situation closely"],
        "keywords_matched": ["robbed"],
        "model": "threat_classifier",
        "version": "1.0.0",
    }


@pytest.mark.django_db
def test_a_promoted_taxonomy_version_changes_the_answer(promote):
    promote("1.0.0", threat_rules.extended_taxonomy())
    stricter = taxonomy()
    stricter["categories"]["property_crime"]["threshold"] = 0.9
    assert classify("text", "They tried to rob the shop.").json()["classification"]["threat_category"] == (
        "property_crime"
    )

    promote("1.1.0", stricter)
    response = classify("text", "They tried to rob the shop.")

    assert response.json()["classification"]["threat_category"] == "none"
    assert response.json()["version"] == "1.1.0"


@pytest.mark.django_db
def test_a_malformed_taxonomy_version_is_never_promoted(promote):
    promote("1.0.0", threat_rules.extended_taxonomy())

    with pytest.raises(services.PromotionError, match="taxonomy.categories is empty"):
        promote("2.0.0", taxonomy(categories={}))

    assert classify("text", "a burglary").json()["version"] == "1.0.0"


@pytest.mark.django_db
def test_an_unknown_type_is_400_naming_the_types(promote):
    promote("1.0.0", threat_rules.extended_taxonomy())

    response = classify("video", "x")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_type",
        "detail": "\"type\" is 'video'; use one of text, visual, audio, multi_modal.",
    }


@pytest.mark.django_db
def test_data_that_does_not_fit_is_400_naming_the_problem(promote):
    promote("1.0.0", threat_rules.extended_taxonomy())

    response = classify("audio", {"class_name": "gunshot"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_data",
        "detail": "data.confidence must be a number in 0..1, got None.",
    }


def test_a_body_that_is_not_json_is_400():
    response = APIClient().post("/api/v1/classify/threat", b"type=text", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_a_body_without_data_is_fastapis_422_naming_the_field():
    response = APIClient().post("/api/v1/classify/threat", {"type": "text"}, format="json")

    # The old service's pydantic model (type: str, data: str, both required), as FastAPI answered it
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["body", "data"], "msg": "Field required", "type": "missing"}],
        "error": "invalid_request",
    }


def test_a_body_that_is_not_an_object_is_fastapis_422_at_the_body():
    response = APIClient().post("/api/v1/classify/threat", ["text", "a fight"], format="json")

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "type": "model_attributes_type",
            }
        ],
        "error": "invalid_request",
    }


def test_the_demo_builds_the_old_taxonomy_active_and_the_extended_one_beside_it(tmp_path):
    artifact = demo_threat.build(tmp_path)

    assert (artifact.model_name, artifact.runtime, artifact.version) == (
        "threat_classifier",
        "threat_rules",
        "2.1.0",
    )
    assert json.loads(artifact.path.read_text()) == threat_rules.default_taxonomy()
    assert [(a.version, json.loads(a.path.read_text())) for a in artifact.also] == [
        ("1.0.0", threat_rules.extended_taxonomy())
    ]


def test_a_keyword_written_with_a_long_s_maps_back_to_its_keyword(classifier):
    # "ſ" (long s) matches "s" case-insensitively; it must count as "shooting", not crash the scoring.
    result = classifier.classify(kind="text", data="a ſhooting downtown")

    assert (
        result["keywords_matched"] == classifier.classify(kind="text", data="a shooting downtown")["keywords_matched"]
    )
