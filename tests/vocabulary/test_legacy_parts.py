"""Hippo's first dictionary API at /vocabulary/ (its commit cdb6547 and before), a word's parts: definitions
and examples created with their parent's id in the body, word-tag routes, tags, relations (given/when/then)."""

from __future__ import annotations

import pytest

from tests.vocabulary.legacy import API, make_cat, missing, word_out
from vocabulary.models import Definition, Example, Tag, WordRelation

pytestmark = pytest.mark.django_db

NOUN = {"definition_text": "a small feline", "part_of_speech": "noun"}


@pytest.fixture
def cat(make_word):
    return make_cat(make_word)


# --- definitions and examples, their parent in the body ------------------------------------------------


def test_a_definition_is_created_with_its_word_id_in_the_body_and_answered_without_examples(writer, make_word):
    word = make_word("cat")

    response = writer.post(f"{API}/definitions", {**NOUN, "word_id": word.pk}, format="json")

    assert response.status_code == 201
    definition = Definition.objects.get()
    assert response.json() == {
        "id": definition.pk,
        "word_id": word.pk,
        "definition_text": "a small feline",
        "part_of_speech": "noun",
        "order": 0,
    }


def test_a_second_definition_without_order_takes_the_next_free_one(writer, make_word):
    word = make_word("cat")

    first = writer.post(f"{API}/definitions", {**NOUN, "word_id": word.pk}, format="json")
    second = writer.post(f"{API}/definitions", {**NOUN, "word_id": word.pk}, format="json")

    assert (first.json()["order"], second.json()["order"]) == (0, 1)


@pytest.mark.parametrize(
    ("word_id", "status", "detail"),
    [
        (999, 404, "Word 999 not found"),
        (
            0,
            422,
            [
                {
                    "loc": ["body", "word_id"],
                    "msg": "Ensure this value is greater than or equal to 1.",
                    "type": "greater_than_equal",
                }
            ],
        ),
        (None, 422, [missing("body", "word_id")]),
    ],
)
def test_a_definition_for_a_bad_word_id_is_404_or_422(writer, word_id, status, detail):
    body = NOUN if word_id is None else {**NOUN, "word_id": word_id}

    response = writer.post(f"{API}/definitions", body, format="json")

    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert Definition.objects.count() == 0


def test_definitions_are_an_array_with_their_examples_filtered_by_word(anon, cat, make_word):
    make_word("dog", definitions=[{"text": "a canine", "part_of_speech": "noun"}])

    response = anon.get(f"{API}/definitions?word_id={cat.pk}")

    assert [(d["word_id"], d["definition_text"], len(d["examples"])) for d in response.json()] == [
        (cat.pk, "a small feline", 1)
    ]


def test_a_definition_patch_answers_without_examples_and_ignores_unknown_keys(writer, cat):
    definition = cat.definitions.get()

    response = writer.patch(
        f"{API}/definitions/{definition.pk}", {"definition_text": "a feline", "examples": []}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": definition.pk,
        "word_id": cat.pk,
        "definition_text": "a feline",
        "part_of_speech": "noun",
        "order": definition.order,
    }
    assert definition.examples.count() == 1


def test_an_example_is_created_with_its_definition_id_in_the_body(writer, cat):
    definition = cat.definitions.get()
    body = {"definition_id": definition.pk, "example_text": "Cats purr.", "source": "a vet"}

    response = writer.post(f"{API}/examples", body, format="json")

    assert response.status_code == 201
    example = Example.objects.get(text="Cats purr.")
    assert response.json() == {
        "id": example.pk,
        "definition_id": definition.pk,
        "example_text": "Cats purr.",
        "source": "a vet",
    }


@pytest.mark.parametrize(
    ("definition_id", "status", "detail"),
    [(999, 404, "Definition 999 not found"), (None, 422, [missing("body", "definition_id")])],
)
def test_an_example_for_a_bad_definition_id_is_404_or_422(writer, definition_id, status, detail):
    body = {"example_text": "x"} | ({} if definition_id is None else {"definition_id": definition_id})

    response = writer.post(f"{API}/examples", body, format="json")

    assert (response.status_code, response.json()["detail"]) == (status, detail)


def test_examples_are_an_array_filtered_by_definition(anon, cat, make_word):
    make_word("dog", definitions=[{"text": "a canine", "part_of_speech": "noun", "examples": [{"text": "Woof."}]}])
    definition = cat.definitions.get()

    response = anon.get(f"{API}/examples?definition_id={definition.pk}")

    assert [e["example_text"] for e in response.json()] == ["The cat sat."]


def test_an_example_patch_with_a_null_source_clears_it(writer, cat):
    example = Example.objects.get()
    Example.objects.filter(pk=example.pk).update(source="a book")

    response = writer.patch(f"{API}/examples/{example.pk}", {"source": None}, format="json")

    assert (response.status_code, response.json()["source"]) == (200, None)
    assert Example.objects.get().source == ""


def test_an_example_cannot_be_read_alone_as_in_hippo(anon, cat):
    response = anon.get(f"{API}/examples/{Example.objects.get().pk}")

    assert response.status_code == 405


# --- tags ----------------------------------------------------------------------------------------------


def test_a_tag_is_added_to_a_word_by_its_route(writer, make_word):
    word, tag = make_word("cat"), Tag.objects.create(name="animal")

    response = writer.post(f"{API}/words/{word.pk}/tags/{tag.pk}")

    assert (response.status_code, response.json()) == (201, {"word_id": word.pk, "tag_id": tag.pk})
    assert list(word.tags.values_list("name", flat=True)) == ["animal"]


def test_a_tag_added_twice_is_400(writer, cat):
    tag = cat.tags.get()

    response = writer.post(f"{API}/words/{cat.pk}/tags/{tag.pk}")

    assert (response.status_code, response.json()["detail"]) == (400, "Word-tag association already exists")


@pytest.mark.parametrize(
    ("word", "tag", "detail"), [(999, None, "Word 999 not found"), (None, 999, "Tag 999 not found")]
)
def test_tagging_with_a_missing_word_or_tag_is_404(writer, cat, word, tag, detail):
    word_id, tag_id = word or cat.pk, tag or Tag.objects.create(name="pet").pk

    response = writer.post(f"{API}/words/{word_id}/tags/{tag_id}")

    assert (response.status_code, response.json()) == (404, {"detail": detail})


def test_a_word_with_its_tags(anon, cat):
    tag = cat.tags.get()

    response = anon.get(f"{API}/words/{cat.pk}/tags")

    assert response.json() == {**word_out(cat), "tags": [{"id": tag.pk, "name": "animal", "description": None}]}


def test_a_tag_is_removed_from_a_word_then_the_link_is_gone(writer, cat):
    tag = cat.tags.get()

    removed = writer.delete(f"{API}/words/{cat.pk}/tags/{tag.pk}")
    again = writer.delete(f"{API}/words/{cat.pk}/tags/{tag.pk}")

    assert removed.status_code == 204
    assert (again.status_code, again.json()) == (404, {"detail": "Word-tag association not found"})
    assert (cat.tags.count(), Tag.objects.count()) == (0, 1)


def test_tags_are_an_array_and_a_tag_by_id_carries_its_words(anon, cat):
    tag = cat.tags.get()

    listed = anon.get(f"{API}/tags")
    one = anon.get(f"{API}/tags/{tag.pk}")

    assert listed.json() == [{"id": tag.pk, "name": "animal", "description": None}]
    assert one.json() == {"id": tag.pk, "name": "animal", "description": None, "words": [word_out(cat)]}


def test_a_tag_patch_with_a_null_description_clears_it(writer):
    tag = Tag.objects.create(name="slang", description="informal")

    response = writer.patch(f"{API}/tags/{tag.pk}", {"description": None}, format="json")

    assert response.json() == {"id": tag.pk, "name": "slang", "description": None}


# --- relations -----------------------------------------------------------------------------------------


def test_relations_are_created_listed_as_an_array_and_deleted_by_a_query_type(writer, make_word):
    big, large = make_word("big"), make_word("large")
    relation = {"word_id_1": big.pk, "word_id_2": large.pk, "relation_type": "synonym"}

    created = writer.post(f"{API}/word-relations", relation, format="json")
    listed = writer.get(f"{API}/word-relations?word_id={large.pk}")
    deleted = writer.delete(f"{API}/word-relations/{big.pk}/{large.pk}?relation_type=synonym")

    assert (created.status_code, created.json()) == (201, relation)
    assert listed.json() == [relation]
    assert deleted.status_code == 204
    assert WordRelation.objects.count() == 0


def test_a_relation_delete_without_its_type_is_422(writer, make_word):
    big, large = make_word("big"), make_word("large")

    response = writer.delete(f"{API}/word-relations/{big.pk}/{large.pk}")

    assert response.status_code == 422
    assert response.json()["detail"] == [missing("query", "relation_type", "Field required")]
