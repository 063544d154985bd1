"""POST /v1/dictionary/words: one word or a list, nested parts, all or nothing (given/when/then)."""

from __future__ import annotations

import pytest

from vocabulary.models import Definition, Example, Tag, Word, WordForm

pytestmark = pytest.mark.django_db

WORDS = "/v1/dictionary/words"
CAT = {
    "word_text": "cat",
    "language_code": "en",
    "definitions": [
        {
            "definition_text": "a small feline",
            "part_of_speech": "noun",
            "examples": [{"example_text": "The cat sat.", "source": "A"}],
        },
        {"definition_text": "to vomit (slang)", "part_of_speech": "verb"},
    ],
    "tags": ["animal", "pet"],
    "word_forms": [{"form_text": "cats", "form_type": "plural"}],
}


def test_a_plain_word_answers_without_parts(writer):
    response = writer.post(WORDS, {"word_text": "ephemeral", "language_code": "en"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "word_text", "language_code", "created_at", "updated_at"}
    assert (body["word_text"], body["language_code"]) == ("ephemeral", "en")


def test_an_empty_tag_list_is_no_part_so_the_answer_has_no_tags(writer):
    response = writer.post(WORDS, {"word_text": "simple", "language_code": "en", "tags": []}, format="json")

    assert response.status_code == 201
    assert "tags" not in response.json()


def test_a_word_with_parts_answers_with_them(writer):
    Tag.objects.create(name="animal", description="Living things")

    response = writer.post(WORDS, CAT, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(d["order"], d["part_of_speech"], d["definition_text"]) for d in body["definitions"]] == [
        (1, "noun", "a small feline"),
        (2, "verb", "to vomit (slang)"),
    ]
    [example] = body["definitions"][0]["examples"]
    assert (example["example_text"], example["source"], example["definition_id"]) == (
        "The cat sat.",
        "A",
        body["definitions"][0]["id"],
    )
    assert [(t["name"], t["description"]) for t in body["tags"]] == [("animal", "Living things"), ("pet", None)]
    assert [(f["form_text"], f["form_type"], f["word_id"]) for f in body["word_forms"]] == [
        ("cats", "plural", body["id"])
    ]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["animal", "pet"]  # "pet" created, "animal" reused


def test_a_definition_keeps_the_order_it_was_given(writer):
    payload = {
        "word_text": "doctor",
        "language_code": "en",
        "definitions": [{"definition_text": "A healer", "part_of_speech": "noun", "order": 0, "examples": []}],
    }

    response = writer.post(WORDS, payload, format="json")

    assert [d["order"] for d in response.json()["definitions"]] == [0]


def test_a_list_of_plain_words_answers_a_list_without_parts(writer):
    payload = [{"word_text": "ephemeral", "language_code": "en"}, {"word_text": "Katze", "language_code": "de"}]

    response = writer.post(WORDS, payload, format="json")

    assert response.status_code == 201
    assert [(w["word_text"], w["language_code"]) for w in response.json()] == [("ephemeral", "en"), ("Katze", "de")]
    assert all(set(w) == {"id", "word_text", "language_code", "created_at", "updated_at"} for w in response.json())


def test_a_list_where_any_word_has_parts_answers_every_word_with_them(writer):
    payload = [
        CAT,
        {"word_text": "dog", "language_code": "en", "tags": ["animal"]},
        {"word_text": "eel", "language_code": "en"},
    ]

    response = writer.post(WORDS, payload, format="json")

    assert response.status_code == 201, response.json()
    assert [(w["word_text"], [t["name"] for t in w["tags"]]) for w in response.json()] == [
        ("cat", ["animal", "pet"]),
        ("dog", ["animal"]),
        ("eel", []),
    ]
    assert Tag.objects.get(name="animal").words.count() == 2


def test_bulk_create_with_duplicates_creates_nothing_and_names_every_duplicate(writer, make_word):
    existing = make_word("dog")
    payload = [
        CAT,
        {"word_text": "dog", "language_code": "en"},
        {"word_text": "bird", "language_code": "en"},
        {"word_text": "cat", "language_code": "en"},
        {"word_text": "fish", "language_code": "en", "word_forms": [{"form_text": "fishes"}, {"form_text": "fishes"}]},
    ]

    response = writer.post(WORDS, payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert [(d["index"], d["text"], d["field"], d["problem"]) for d in body["duplicates"]] == [
        (1, "dog", "text", f"already exists (id {existing.pk})"),
        (3, "cat", "text", "repeats item 0"),
        (4, "fish", "forms", "form 'fishes' is given twice"),
    ]
    assert body["detail"] == (
        "Words already exist: dog (en); Duplicate words found in request: cat (en) at item 3; "
        "fish (en): form 'fishes' is given twice; nothing was created."
    )
    assert list(Word.objects.values_list("text", flat=True)) == ["dog"]
    counts = (Definition.objects.count(), Example.objects.count(), WordForm.objects.count(), Tag.objects.count())
    assert counts == (0, 0, 0, 0)


def test_creating_an_existing_word_is_a_400_saying_it_already_exists(writer, make_word):
    word = make_word("cat")

    response = writer.post(WORDS, {"word_text": "cat", "language_code": "en"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Word 'cat' already exists for language 'en'"
    assert response.json()["duplicates"][0]["problem"] == f"already exists (id {word.pk})"


def test_an_invalid_part_of_speech_is_fastapis_422_at_its_location(writer):
    payload = {
        "word_text": "cat",
        "language_code": "en",
        "definitions": [{"definition_text": "x", "part_of_speech": "gerund"}],
    }

    response = writer.post(WORDS, payload, format="json")

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "definitions", 0, "part_of_speech"],
                "msg": '"gerund" is not a valid choice.',
                "type": "enum",
            }
        ],
        "error": "invalid_input",
    }
    assert Word.objects.count() == 0


def test_an_invalid_item_in_a_list_is_a_422_at_its_index(writer):
    payload = [{"word_text": "cat", "language_code": "en"}, {"word_text": "", "language_code": "x"}]

    response = writer.post(WORDS, payload, format="json")

    assert response.status_code == 422
    assert [(item["loc"], item["type"]) for item in response.json()["detail"]] == [
        (["body", 1, "word_text"], "string_too_short"),
        (["body", 1, "language_code"], "string_too_short"),
    ]
    assert Word.objects.count() == 0


def test_a_missing_field_is_a_422_of_type_missing(writer):
    response = writer.post(WORDS, {"word_text": "cat"}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "language_code"], "msg": "This field is required.", "type": "missing"}
    ]


def test_definition_ids_are_refused_on_create(writer):
    payload = {
        "word_text": "cat",
        "language_code": "en",
        "definitions": [{"id": 5, "definition_text": "x", "part_of_speech": "noun"}],
    }

    response = writer.post(WORDS, payload, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "definitions"], "msg": "Only a word's PATCH takes definition ids.", "type": "value_error"}
    ]


def test_an_empty_list_is_a_400_no_words_provided(writer):
    response = writer.post(WORDS, [], format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "No words provided"}


def test_a_body_that_is_neither_a_word_nor_a_list_is_a_422(writer):
    response = writer.post(WORDS, "cat", format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body"], "msg": "Input should be an object", "type": "value_error"}]
