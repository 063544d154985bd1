"""POST /vocabulary/words: one word or a list, nested parts, all or nothing (given/when/then)."""

from __future__ import annotations

import pytest

from vocabulary.models import Definition, Example, Tag, Word, WordForm

pytestmark = pytest.mark.django_db

CAT = {
    "text": "cat",
    "language": "en",
    "definitions": [
        {"text": "a small feline", "part_of_speech": "noun", "examples": [{"text": "The cat sat.", "source": "A"}]},
        {"text": "to vomit (slang)", "part_of_speech": "verb"},
    ],
    "tags": ["animal", "pet"],
    "forms": [{"form": "cats", "form_type": "plural"}],
}


def test_create_one_word_with_nested_parts(writer):
    Tag.objects.create(name="animal")

    response = writer.post("/vocabulary/words", CAT, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["text"], body["language"]) == ("cat", "en")
    assert [(d["order"], d["part_of_speech"], d["text"]) for d in body["definitions"]] == [
        (1, "noun", "a small feline"),
        (2, "verb", "to vomit (slang)"),
    ]
    assert [(e["text"], e["source"]) for e in body["definitions"][0]["examples"]] == [("The cat sat.", "A")]
    assert body["tags"] == ["animal", "pet"]
    assert [(f["form"], f["form_type"]) for f in body["forms"]] == [("cats", "plural")]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["animal", "pet"]  # "pet" created, "animal" reused


def test_create_a_list_of_words(writer):
    payload = [CAT, {"text": "dog", "language": "en", "tags": ["animal"]}, {"text": "Katze", "language": "de"}]

    response = writer.post("/vocabulary/words", payload, format="json")

    assert response.status_code == 201, response.json()
    assert [(w["text"], w["language"]) for w in response.json()] == [("cat", "en"), ("dog", "en"), ("Katze", "de")]
    assert Word.objects.count() == 3
    assert Tag.objects.get(name="animal").words.count() == 2


def test_bulk_create_with_duplicates_creates_nothing_and_names_every_duplicate(writer, make_word):
    existing = make_word("dog")
    payload = [
        CAT,
        {"text": "dog", "language": "en"},
        {"text": "bird", "language": "en"},
        {"text": "cat", "language": "en"},
        {"text": "fish", "language": "en", "forms": [{"form": "fishes"}, {"form": "fishes"}]},
    ]

    response = writer.post("/vocabulary/words", payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert [(d["index"], d["text"], d["field"], d["problem"]) for d in body["duplicates"]] == [
        (1, "dog", "text", f"already exists (id {existing.pk})"),
        (3, "cat", "text", "repeats item 0"),
        (4, "fish", "forms", "form 'fishes' is given twice"),
    ]
    assert body["detail"].startswith("3 duplicate(s); nothing was created: dog (en): already exists")
    assert list(Word.objects.values_list("text", flat=True)) == ["dog"]
    assert (Definition.objects.count(), Example.objects.count(), WordForm.objects.count(), Tag.objects.count()) == (
        0,
        0,
        0,
        0,
    )


def test_creating_an_existing_word_is_a_400_naming_it(writer, make_word):
    word = make_word("cat")

    response = writer.post("/vocabulary/words", {"text": "cat", "language": "en"}, format="json")

    assert response.status_code == 400
    assert response.json()["duplicates"][0]["problem"] == f"already exists (id {word.pk})"


def test_invalid_part_of_speech_is_a_422_naming_the_field(writer):
    payload = {"text": "cat", "language": "en", "definitions": [{"text": "x", "part_of_speech": "gerund"}]}

    response = writer.post("/vocabulary/words", payload, format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Invalid input: definitions."
    assert body["errors"] == {"definitions": {"0": {"part_of_speech": ['"gerund" is not a valid choice.']}}}
    assert Word.objects.count() == 0


def test_invalid_item_in_a_list_is_a_422_naming_its_index(writer):
    payload = [{"text": "cat", "language": "en"}, {"text": "", "language": "x"}]

    response = writer.post("/vocabulary/words", payload, format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Invalid input in item(s) 1."
    assert set(body["errors"]["1"]) == {"text", "language"}
    assert Word.objects.count() == 0


def test_nested_ids_are_refused_on_create(writer):
    payload = {"text": "cat", "language": "en", "definitions": [{"id": 5, "text": "x", "part_of_speech": "noun"}]}

    response = writer.post("/vocabulary/words", payload, format="json")

    assert response.status_code == 422
    assert response.json()["errors"]["definitions"]["0"]["id"] == ["Only PATCH accepts ids (to update a nested row)."]


def test_an_empty_list_is_a_422(writer):
    response = writer.post("/vocabulary/words", [], format="json")

    assert response.status_code == 422
    assert response.json()["errors"] == {"non_field_errors": ["This list may not be empty."]}
