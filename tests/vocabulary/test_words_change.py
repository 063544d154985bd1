"""PATCH and DELETE /vocabulary/words/{id}: nested semantics and `updated_at` (given/when/then)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vocabulary.models import Definition, Example, Word

pytestmark = pytest.mark.django_db

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


def test_patch_updates_definitions_by_id_adds_those_without_and_keeps_the_others(writer, cat):
    feline, jazz = cat.definitions.order_by("order")
    [sat] = feline.examples.all()
    payload = {
        "definitions": [
            {"id": feline.pk, "text": "a small feline", "examples": [{"id": sat.pk, "source": "Dr. Seuss"}]},
            {"text": "to hoist an anchor", "part_of_speech": "verb"},
        ]
    }

    response = writer.patch(f"/vocabulary/words/{cat.pk}", payload, format="json")

    assert response.status_code == 200, response.json()
    assert [(d["id"], d["order"], d["text"]) for d in response.json()["definitions"]] == [
        (feline.pk, 1, "a small feline"),
        (jazz.pk, 2, "jazz fan"),
        (response.json()["definitions"][2]["id"], 3, "to hoist an anchor"),
    ]
    assert list(Example.objects.values_list("text", "source")) == [("The cat sat.", "Dr. Seuss")]


def test_patch_replaces_tags_and_forms_when_given(writer, cat):
    response = writer.patch(
        f"/vocabulary/words/{cat.pk}", {"tags": ["mammal"], "forms": [{"form": "kitties"}]}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["tags"], [f["form"] for f in response.json()["forms"]]) == (["mammal"], ["kitties"])
    assert cat.definitions.count() == 2  # definitions not given: untouched


def test_patch_can_swap_two_definition_orders(writer, cat):
    feline, jazz = cat.definitions.order_by("order")

    response = writer.patch(
        f"/vocabulary/words/{cat.pk}",
        {"definitions": [{"id": feline.pk, "order": 2}, {"id": jazz.pk, "order": 1}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert [d["text"] for d in response.json()["definitions"]] == ["jazz fan", "feline"]


def test_patch_with_a_definition_of_another_word_is_a_422(writer, cat, make_word):
    other = make_word("dog", definitions=[{"text": "canine", "part_of_speech": "noun"}])
    foreign = other.definitions.get()

    response = writer.patch(
        f"/vocabulary/words/{cat.pk}", {"definitions": [{"id": foreign.pk, "text": "stolen"}]}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "definitions": {"0": {"id": [f"Definition {foreign.pk} does not belong to word {cat.pk}."]}}
    }
    assert Definition.objects.get(pk=foreign.pk).text == "canine"


def test_patch_with_an_example_of_another_definition_is_a_422_naming_where(writer, cat):
    feline, jazz = cat.definitions.order_by("order")
    sat = feline.examples.get()

    response = writer.patch(
        f"/vocabulary/words/{cat.pk}",
        {"definitions": [{"id": jazz.pk, "examples": [{"id": sat.pk, "text": "moved"}]}]},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "definitions": {
            "0": {"examples": {"0": {"id": [f"Example {sat.pk} does not belong to definition {jazz.pk}."]}}}
        }
    }


def test_patch_a_new_definition_without_its_required_fields_is_a_422(writer, cat):
    response = writer.patch(f"/vocabulary/words/{cat.pk}", {"definitions": [{"text": "no part"}]}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"] == {"definitions": {"0": {"part_of_speech": ["This field is required."]}}}


def test_patch_to_an_existing_text_and_language_is_a_400(writer, cat, make_word):
    dog = make_word("dog")

    response = writer.patch(f"/vocabulary/words/{dog.pk}", {"text": "cat"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == f"1 duplicate(s); nothing was changed: cat (en): already exists (id {cat.pk})."


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        (lambda client, word: client.patch(f"/vocabulary/words/{word.pk}", {"tags": ["x"]}, format="json"), 200),
        (lambda client, word: client.patch(f"/vocabulary/words/{word.pk}", {"forms": []}, format="json"), 200),
        (
            lambda client, word: client.post(
                "/vocabulary/definitions", {"word_id": word.pk, "text": "t", "part_of_speech": "noun"}, format="json"
            ),
            201,
        ),
        (lambda client, word: client.delete(f"/vocabulary/definitions/{word.definitions.last().pk}"), 204),
        (
            lambda client, word: client.post(
                "/vocabulary/examples", {"definition_id": word.definitions.first().pk, "text": "e"}, format="json"
            ),
            201,
        ),
        (
            lambda client, word: client.patch(
                f"/vocabulary/examples/{Example.objects.get().pk}", {"text": "The cat lay."}, format="json"
            ),
            200,
        ),
        (
            lambda client, word: client.patch(
                f"/vocabulary/tags/{word.tags.get(name='pet').pk}", {"name": "companion"}, format="json"
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
    response = writer.delete(f"/vocabulary/words/{cat.pk}/")

    assert response.status_code == 204
    assert (Word.objects.count(), Definition.objects.count(), Example.objects.count()) == (0, 0, 0)
    assert writer.get(f"/vocabulary/words/{cat.pk}").status_code == 404


def test_patch_with_an_unknown_field_is_a_422_naming_it_and_changes_nothing(writer, cat):
    cat.refresh_from_db()
    before = cat.updated_at

    response = writer.patch(f"/vocabulary/words/{cat.pk}", {"text": "kitty", "colour": "black"}, format="json")

    assert response.status_code == 422
    assert "colour" in json.dumps(response.json())
    cat.refresh_from_db()
    assert (cat.text, cat.updated_at) == ("cat", before)


def test_patch_of_a_read_only_field_is_a_422(writer, cat):
    response = writer.patch(f"/vocabulary/words/{cat.pk}", {"created_at": "2020-01-01T00:00:00Z"}, format="json")

    assert response.status_code == 422
    assert "created_at" in json.dumps(response.json())
