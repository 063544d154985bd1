"""Definitions, examples, tags and word relations: CRUD, filters and conflicts (given/when/then)."""

from __future__ import annotations

import pytest

from vocabulary.models import Tag, WordRelation

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(make_word):
    return make_word("big"), make_word("large")


def relate(client, from_word, to_word, relation_type):
    payload = {"from_word_id": from_word.pk, "to_word_id": to_word.pk, "relation_type": relation_type}
    return client.post("/vocabulary/word-relations", payload, format="json")


def test_definitions_filtered_by_word_in_the_envelope(anon, make_word):
    cat = make_word("cat", definitions=[{"text": "feline", "part_of_speech": "noun", "examples": [{"text": "Hi"}]}])
    make_word("dog", definitions=[{"text": "canine", "part_of_speech": "noun"}])

    response = anon.get("/vocabulary/definitions", {"word_id": cat.pk})

    body = response.json()
    assert (body["total"], body["total_pages"], body["has_more"]) == (1, 1, False)
    [definition] = body["data"]
    assert (definition["word_id"], definition["text"], definition["order"]) == (cat.pk, "feline", 1)
    assert [e["text"] for e in definition["examples"]] == ["Hi"]


def test_definition_with_a_taken_order_is_a_400_naming_it(writer, make_word):
    cat = make_word("cat", definitions=[{"text": "feline", "part_of_speech": "noun"}])
    taken = cat.definitions.get()

    response = writer.post(
        "/vocabulary/definitions",
        {"word_id": cat.pk, "text": "jazz fan", "part_of_speech": "noun", "order": 1},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["duplicates"][0]["problem"] == f"definition {taken.pk} already has order 1"


def test_definition_with_an_unknown_word_or_part_of_speech_is_a_422(writer):
    response = writer.post(
        "/vocabulary/definitions", {"word_id": 999, "text": "x", "part_of_speech": "gerund"}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "word_id": ['Invalid pk "999" - object does not exist.'],
        "part_of_speech": ['"gerund" is not a valid choice.'],
    }


def test_examples_crud_and_filter_by_definition(writer, make_word):
    cat = make_word(
        "cat", definitions=[{"text": "feline", "part_of_speech": "noun"}, {"text": "guy", "part_of_speech": "noun"}]
    )
    feline, guy = cat.definitions.order_by("order")
    created = writer.post("/vocabulary/examples", {"definition_id": feline.pk, "text": "Nice cat."}, format="json")
    writer.post("/vocabulary/examples", {"definition_id": guy.pk, "text": "Cool cat."}, format="json")
    example_id = created.json()["id"]

    patched = writer.patch(f"/vocabulary/examples/{example_id}", {"source": "Blog"}, format="json")
    listed = writer.get("/vocabulary/examples", {"definition_id": feline.pk})
    deleted = writer.delete(f"/vocabulary/examples/{example_id}")

    assert (created.status_code, patched.status_code, deleted.status_code) == (201, 200, 204)
    assert patched.json() == {"id": example_id, "definition_id": feline.pk, "text": "Nice cat.", "source": "Blog"}
    assert [e["text"] for e in listed.json()["data"]] == ["Nice cat."]
    assert writer.get("/vocabulary/examples").json()["total"] == 1


def test_tag_names_are_unique(writer):
    Tag.objects.create(name="animal")

    response = writer.post("/vocabulary/tags", {"name": "animal"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == f"A tag named 'animal' already exists (id {Tag.objects.get().pk})."


def test_tags_filtered_by_word_and_searched_by_prefix(anon, make_word):
    make_word("cat", tags=["animal", "pet"])
    dog = make_word("dog", tags=["animal", "loyal"])

    by_word = anon.get("/vocabulary/tags", {"word_id": dog.pk})
    by_prefix = anon.get("/vocabulary/tags", {"search": "P"})

    assert [t["name"] for t in by_word.json()["data"]] == ["animal", "loyal"]
    assert [t["name"] for t in by_prefix.json()["data"]] == ["pet"]


def test_a_pair_of_words_may_hold_several_relation_types(writer, pair):
    big, large = pair

    synonym = relate(writer, big, large, "synonym")
    related = relate(writer, big, large, "related")

    assert (synonym.status_code, related.status_code) == (201, 201)
    assert synonym.json()["from_word"] == {"id": big.pk, "text": "big", "language": "en"}
    assert WordRelation.objects.count() == 2


def test_the_same_relation_twice_is_a_400(writer, pair):
    big, large = pair
    first = relate(writer, big, large, "synonym")

    response = relate(writer, big, large, "synonym")

    assert response.status_code == 400
    assert response.json()["detail"] == f"big (en) is already a synonym of large (en) (relation {first.json()['id']})."


def test_a_word_related_to_itself_is_a_422(writer, pair):
    big, _ = pair

    response = relate(writer, big, big, "synonym")

    assert response.status_code == 422
    assert response.json()["errors"] == {"to_word_id": ["A word cannot relate to itself."]}


def test_a_race_past_the_check_meets_the_constraint_and_answers_400(writer, pair, monkeypatch):
    big, large = pair
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="synonym")
    monkeypatch.setattr("vocabulary.services._relation_valid", lambda **kwargs: None)  # as if written concurrently

    response = relate(writer, big, large, "synonym")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The change conflicts with existing data; nothing was saved (")
    assert WordRelation.objects.count() == 1


def test_relations_filtered_by_word_at_either_end_and_type(anon, pair, make_word):
    big, large = pair
    huge = make_word("huge")
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="synonym")
    WordRelation.objects.create(from_word=huge, to_word=big, relation_type="related")
    WordRelation.objects.create(from_word=huge, to_word=large, relation_type="synonym")

    either_end = anon.get("/vocabulary/word-relations", {"word_id": big.pk})
    synonyms_of_big = anon.get("/vocabulary/word-relations", {"word_id": big.pk, "relation_type": "synonym"})
    bad_type = anon.get("/vocabulary/word-relations", {"relation_type": "cousin"})

    assert either_end.json()["total"] == 2
    assert [(r["from_word"]["text"], r["to_word"]["text"]) for r in synonyms_of_big.json()["data"]] == [
        ("big", "large")
    ]
    assert bad_type.status_code == 422
    assert list(bad_type.json()["errors"]) == ["relation_type"]
