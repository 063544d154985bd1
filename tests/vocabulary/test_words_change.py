"""PATCH and DELETE /v1/dictionary/words/{id}: nested semantics and `updated_at` (given/when/then)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vocabulary.models import Definition, Example, Word

pytestmark = pytest.mark.django_db

API = "/v1/dictionary"

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def cat(make_word) -> Word:
    word = make_word(
        "cat",
        definitions=[
            {"text": "feline", "part_of_speech": "noun", "examples": [{"text": "The cat sat."}]},
            {"text": "jazz fan", "part_of_speech": "noun"},
        ],
        tags=["animal", "pet"],
        forms=[{"form": "cats", "form_type": "plural"}],
    )
    Word.objects.filter(pk=word.pk).update(updated_at=LONG_AGO)
    return word


def updated_at(word: Word) -> datetime:
    return Word.objects.get(pk=word.pk).updated_at


def test_patch_changes_definitions_by_id_adds_those_without_and_keeps_the_others(writer, cat):
    feline, jazz = cat.definitions.order_by("order")
    payload = {
        "definitions": [
            {"id": feline.pk, "definition_text": "a small feline", "examples": [{"example_text": "It purrs."}]},
            {"definition_text": "to hoist an anchor", "part_of_speech": "verb"},
        ]
    }

    response = writer.patch(f"{API}/words/{cat.pk}", payload, format="json")

    assert response.status_code == 200, response.json()
    assert [(d["id"], d["order"], d["definition_text"]) for d in response.json()["definitions"]] == [
        (feline.pk, 1, "a small feline"),
        (jazz.pk, 2, "jazz fan"),
        (response.json()["definitions"][2]["id"], 3, "to hoist an anchor"),
    ]
    assert list(Example.objects.values_list("text", flat=True)) == ["It purrs."]  # given examples replace


def test_patch_of_a_definition_without_examples_keeps_them(writer, cat):
    feline = cat.definitions.get(order=1)

    writer.patch(f"{API}/words/{cat.pk}", {"definitions": [{"id": feline.pk, "order": 7}]}, format="json")

    assert list(feline.examples.values_list("text", flat=True)) == ["The cat sat."]


def test_patch_of_the_word_alone_answers_it_without_parts(writer, cat):
    response = writer.patch(f"{API}/words/{cat.pk}", {"word_text": "kitty"}, format="json")

    assert response.status_code == 200
    assert response.json()["word_text"] == "kitty"
    assert set(response.json()) == {"id", "word_text", "language_code", "created_at", "updated_at"}


def test_patch_replaces_tags_and_forms_when_given(writer, cat):
    response = writer.patch(
        f"{API}/words/{cat.pk}", {"tags": ["mammal"], "word_forms": [{"form_text": "kitties"}]}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert ([t["name"] for t in body["tags"]], [f["form_text"] for f in body["word_forms"]]) == (
        ["mammal"],
        ["kitties"],
    )
    assert cat.definitions.count() == 2  # definitions not given: untouched


def test_patch_can_swap_two_definition_orders(writer, cat):
    feline, jazz = cat.definitions.order_by("order")

    response = writer.patch(
        f"{API}/words/{cat.pk}",
        {"definitions": [{"id": feline.pk, "order": 2}, {"id": jazz.pk, "order": 1}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert [d["definition_text"] for d in response.json()["definitions"]] == ["jazz fan", "feline"]


def test_patch_with_a_definition_of_another_word_is_a_422(writer, cat, make_word):
    other = make_word("dog", definitions=[{"text": "canine", "part_of_speech": "noun"}])
    foreign = other.definitions.get()

    response = writer.patch(
        f"{API}/words/{cat.pk}", {"definitions": [{"id": foreign.pk, "definition_text": "stolen"}]}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "definitions", 0, "id"],
            "msg": f"Definition {foreign.pk} does not belong to word {cat.pk}.",
            "type": "value_error",
        }
    ]
    assert Definition.objects.get(pk=foreign.pk).text == "canine"


def test_patch_a_new_definition_without_its_required_fields_is_a_422(writer, cat):
    response = writer.patch(f"{API}/words/{cat.pk}", {"definitions": [{"definition_text": "no part"}]}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "definitions", 0, "part_of_speech"], "msg": "Field required", "type": "missing"}
    ]


def test_patch_to_an_existing_text_and_language_is_a_400(writer, cat, make_word):
    dog = make_word("dog")

    response = writer.patch(f"{API}/words/{dog.pk}", {"word_text": "cat"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Word 'cat' already exists for language 'en'"


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        (lambda client, word: client.patch(f"{API}/words/{word.pk}", {"tags": ["x"]}, format="json"), 200),
        (lambda client, word: client.patch(f"{API}/words/{word.pk}", {"word_forms": []}, format="json"), 200),
        (
            lambda client, word: client.post(
                f"{API}/words/{word.pk}/definitions", {"definition_text": "t", "part_of_speech": "noun"}, format="json"
            ),
            201,
        ),
        (lambda client, word: client.delete(f"{API}/definitions/{word.definitions.last().pk}"), 204),
        (
            lambda client, word: client.post(
                f"{API}/definitions/{word.definitions.first().pk}/examples", {"example_text": "e"}, format="json"
            ),
            201,
        ),
        (
            lambda client, word: client.patch(
                f"{API}/examples/{Example.objects.get().pk}", {"example_text": "The cat lay."}, format="json"
            ),
            200,
        ),
        (
            lambda client, word: client.patch(
                f"{API}/tags/{word.tags.get(name='pet').pk}", {"name": "companion"}, format="json"
            ),
            200,
        ),
    ],
    ids=["tags", "forms", "add-definition", "delete-definition", "add-example", "edit-example", "rename-tag"],
)
def test_updated_at_moves_when_a_part_of_the_word_changes(writer, cat, change, expected_status):
    response = change(writer, cat)

    assert response.status_code == expected_status, response.content
    assert updated_at(cat) > LONG_AGO


def test_delete_removes_the_word_and_its_parts(writer, cat):
    response = writer.delete(f"{API}/words/{cat.pk}/")

    assert response.status_code == 204
    assert (Word.objects.count(), Definition.objects.count(), Example.objects.count()) == (0, 0, 0)
    assert writer.get(f"{API}/words/{cat.pk}").status_code == 404


def test_patch_with_an_unknown_field_is_a_422_naming_it_and_changes_nothing(writer, cat):
    cat.refresh_from_db()
    before = cat.updated_at

    response = writer.patch(f"{API}/words/{cat.pk}", {"word_text": "kitty", "colour": "black"}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "colour"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]
    cat.refresh_from_db()
    assert (cat.text, cat.updated_at) == ("cat", before)


def test_patch_of_a_read_only_field_is_a_422(writer, cat):
    response = writer.patch(f"{API}/words/{cat.pk}", {"created_at": "2020-01-01T00:00:00Z"}, format="json")

    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["body", "created_at"]]


def test_patch_of_a_tag_id_list_is_a_422_not_ignored(writer, cat):
    response = writer.patch(f"{API}/words/{cat.pk}", {"tag_ids": [1, 2]}, format="json")

    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["body", "tag_ids"]]
    assert sorted(cat.tags.values_list("name", flat=True)) == ["animal", "pet"]


def test_patch_with_nulls_leaves_those_fields_as_they_are(writer, cat):
    response = writer.patch(
        f"{API}/words/{cat.pk}", {"word_text": None, "language_code": None, "tags": None}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["word_text"] == "cat"
    assert sorted(cat.tags.values_list("name", flat=True)) == ["animal", "pet"]
