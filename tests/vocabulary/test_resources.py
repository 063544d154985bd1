"""Definitions, examples, tags and relations under /v1/dictionary/: the MNIST service's nested routes,
shapes and conflicts (given/when/then)."""

from __future__ import annotations

import pytest

from vocabulary.models import Definition, Example, Tag, WordRelation

pytestmark = pytest.mark.django_db

API = "/v1/dictionary"


@pytest.fixture
def pair(make_word):
    return make_word("big"), make_word("large")


def relate(client, word_1, word_2, relation_type):
    payload = {"word_id_1": word_1.pk, "word_id_2": word_2.pk, "relation_type": relation_type}
    return client.post(f"{API}/relations", payload, format="json")


# --- definitions ---------------------------------------------------------------------------------------


def test_a_definition_is_added_to_a_word_by_its_path(writer, make_word):
    cat = make_word("cat")
    body = {"word_id": 999, "definition_text": "feline", "part_of_speech": "noun", "order": 1}  # word_id ignored

    response = writer.post(f"{API}/words/{cat.pk}/definitions", body, format="json")

    assert response.status_code == 201
    created = response.json()
    assert created == {
        "id": created["id"],
        "word_id": cat.pk,
        "definition_text": "feline",
        "part_of_speech": "noun",
        "order": 1,
        "examples": [],
    }


def test_a_definition_for_a_missing_word_is_a_404(writer):
    response = writer.post(
        f"{API}/words/99999/definitions", {"definition_text": "x", "part_of_speech": "noun"}, format="json"
    )

    assert (response.status_code, response.json()) == (404, {"detail": "Word 99999 not found"})


def test_a_definition_with_a_taken_order_is_a_400_naming_it(writer, make_word):
    cat = make_word("cat", definitions=[{"text": "feline", "part_of_speech": "noun"}])
    taken = cat.definitions.get()

    response = writer.post(
        f"{API}/words/{cat.pk}/definitions",
        {"definition_text": "jazz fan", "part_of_speech": "noun", "order": 1},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["duplicates"][0]["problem"] == f"definition {taken.pk} already has order 1"


def test_a_definitions_patch_with_examples_replaces_them(writer, make_word):
    cat = make_word("cat", definitions=[{"text": "feline", "part_of_speech": "noun", "examples": [{"text": "Old."}]}])
    definition = cat.definitions.get()

    response = writer.patch(
        f"{API}/definitions/{definition.pk}",
        {"definition_text": "a feline", "part_of_speech": "noun", "order": 0, "examples": [{"example_text": "New."}]},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["definition_text"], response.json()["order"]) == ("a feline", 0)
    assert [e["example_text"] for e in response.json()["examples"]] == ["New."]
    assert list(Example.objects.values_list("text", flat=True)) == ["New."]


def test_a_definition_is_read_and_deleted_with_its_examples(writer, make_word):
    cat = make_word("cat", definitions=[{"text": "feline", "part_of_speech": "noun", "examples": [{"text": "Hi"}]}])
    definition = cat.definitions.get()

    read = writer.get(f"{API}/definitions/{definition.pk}")
    deleted = writer.delete(f"{API}/definitions/{definition.pk}")

    assert [e["example_text"] for e in read.json()["examples"]] == ["Hi"]
    assert deleted.status_code == 204
    assert (Definition.objects.count(), Example.objects.count()) == (0, 0)


def test_definitions_are_listed_by_word(anon, make_word):
    cat = make_word("cat", definitions=[{"text": "feline", "part_of_speech": "noun"}])
    make_word("dog", definitions=[{"text": "canine", "part_of_speech": "noun"}])

    response = anon.get(f"{API}/definitions", {"word_id": cat.pk})

    assert [d["definition_text"] for d in response.json()["data"]] == ["feline"]


# --- examples ------------------------------------------------------------------------------------------


def test_examples_are_added_to_a_definition_changed_and_deleted(writer, make_word):
    cat = make_word("cat", definitions=[{"text": "feline", "part_of_speech": "noun"}])
    definition = cat.definitions.get()

    created = writer.post(f"{API}/definitions/{definition.pk}/examples", {"example_text": "Nice cat."}, format="json")
    example_id = created.json()["id"]
    patched = writer.patch(f"{API}/examples/{example_id}", {"source": "Blog"}, format="json")
    listed = writer.get(f"{API}/definitions/{definition.pk}/examples")
    deleted = writer.delete(f"{API}/examples/{example_id}")

    assert (created.status_code, patched.status_code, deleted.status_code) == (201, 200, 204)
    assert created.json() == {
        "id": example_id,
        "definition_id": definition.pk,
        "example_text": "Nice cat.",
        "source": None,
    }
    assert patched.json()["source"] == "Blog"
    assert [e["example_text"] for e in listed.json()["data"]] == ["Nice cat."]
    assert writer.get(f"{API}/examples/{example_id}").status_code == 404


def test_an_example_for_a_missing_definition_is_a_404(writer):
    response = writer.post(f"{API}/definitions/4242/examples", {"example_text": "x"}, format="json")

    assert (response.status_code, response.json()) == (404, {"detail": "Definition 4242 not found"})


# --- tags ----------------------------------------------------------------------------------------------


def test_a_tag_is_created_with_its_description(writer):
    response = writer.post(f"{API}/tags", {"name": "vocabulary", "description": "Words to learn"}, format="json")

    assert response.status_code == 201
    assert response.json() == {"id": Tag.objects.get().pk, "name": "vocabulary", "description": "Words to learn"}


def test_a_tag_name_given_twice_is_a_400_saying_it_already_exists(writer):
    Tag.objects.create(name="animal")

    response = writer.post(f"{API}/tags", {"name": "animal"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Tag 'animal' already exists"


def test_tags_are_searched_by_prefix(anon, make_word):
    make_word("cat", tags=["animal", "pet"])

    response = anon.get(f"{API}/tags", {"search": "P"})

    assert [t["name"] for t in response.json()["data"]] == ["pet"]


def test_a_tag_is_renamed_and_deleted(writer):
    tag = Tag.objects.create(name="slang")

    renamed = writer.patch(f"{API}/tags/{tag.pk}", {"name": "informal"}, format="json")
    deleted = writer.delete(f"{API}/tags/{tag.pk}")

    assert (renamed.json()["name"], deleted.status_code) == ("informal", 204)
    assert Tag.objects.count() == 0


# --- relations -----------------------------------------------------------------------------------------


def test_a_relation_answers_its_two_words_and_type(writer, pair):
    big, large = pair

    response = relate(writer, big, large, "synonym")

    assert response.status_code == 201
    assert response.json() == {"word_id_1": big.pk, "word_id_2": large.pk, "relation_type": "synonym"}


def test_a_pair_of_words_may_hold_several_relation_types(writer, pair):
    big, large = pair

    synonym = relate(writer, big, large, "synonym")
    related = relate(writer, big, large, "related")

    assert (synonym.status_code, related.status_code) == (201, 201)
    assert WordRelation.objects.count() == 2


def test_the_same_relation_twice_is_a_400(writer, pair):
    big, large = pair
    relate(writer, big, large, "synonym")

    response = relate(writer, big, large, "synonym")

    assert response.status_code == 400
    assert response.json()["detail"] == "Word relation already exists"


def test_a_relation_to_a_missing_word_is_a_404(writer, pair):
    big, _ = pair

    response = writer.post(
        f"{API}/relations", {"word_id_1": big.pk, "word_id_2": 777, "relation_type": "synonym"}, format="json"
    )

    assert (response.status_code, response.json()) == (404, {"detail": "Word 777 not found"})


def test_a_word_related_to_itself_is_a_422(writer, pair):
    big, _ = pair

    response = relate(writer, big, big, "synonym")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "word_id_2"], "msg": "A word cannot relate to itself.", "type": "value_error"}
    ]


def test_a_race_past_the_check_meets_the_constraint_and_answers_400(writer, pair, monkeypatch):
    big, large = pair
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="synonym")
    monkeypatch.setattr("vocabulary.services._relation_valid", lambda **kwargs: None)  # as if written concurrently

    response = relate(writer, big, large, "synonym")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The change conflicts with existing data; nothing was saved (")
    assert WordRelation.objects.count() == 1


def test_relations_are_listed_by_a_word_at_either_end_and_by_type(anon, pair, make_word):
    big, large = pair
    huge = make_word("huge")
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="synonym")
    WordRelation.objects.create(from_word=huge, to_word=big, relation_type="related")
    WordRelation.objects.create(from_word=huge, to_word=large, relation_type="synonym")

    either_end = anon.get(f"{API}/relations", {"word_id": big.pk})
    synonyms_of_big = anon.get(f"{API}/relations", {"word_id": big.pk, "relation_type": "synonym"})
    unknown_type = anon.get(f"{API}/relations", {"relation_type": "cousin"})

    assert either_end.json()["total"] == 2
    assert [(r["word_id_1"], r["word_id_2"]) for r in synonyms_of_big.json()["data"]] == [(big.pk, large.pk)]
    assert (unknown_type.status_code, unknown_type.json()["total"]) == (200, 0)


def test_a_relation_is_deleted_by_its_words_and_type(writer, pair):
    big, large = pair
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="synonym")
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="related")

    deleted = writer.delete(f"{API}/relations/{big.pk}/{large.pk}/synonym")
    again = writer.delete(f"{API}/relations/{big.pk}/{large.pk}/synonym")

    assert deleted.status_code == 204
    assert (again.status_code, again.json()) == (404, {"detail": "Word relation not found"})
    assert list(WordRelation.objects.values_list("relation_type", flat=True)) == ["related"]


def test_a_tag_patch_with_a_null_description_keeps_it(writer):
    tag = Tag.objects.create(name="slang", description="keep me")

    response = writer.patch(f"{API}/tags/{tag.pk}", {"name": "informal", "description": None}, format="json")

    assert (response.status_code, response.json()["description"]) == (200, "keep me")


def test_a_body_without_a_content_type_is_read_as_json(writer):
    response = writer.generic("POST", f"{API}/tags", b'{"name": "untyped"}', content_type="")

    assert (response.status_code, response.json()["name"]) == (201, "untyped")


def test_an_id_of_five_thousand_digits_is_a_404_not_a_crash(anon):  # int() refuses 4,300 digits
    response = anon.get(f"{API}/words/{'9' * 5000}")

    assert response.status_code == 404


def test_a_number_for_a_text_field_is_a_422_as_hippos_pydantic_answered(writer):
    response = writer.post(f"{API}/tags", {"name": "colour", "description": 0}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "description"]
    assert response.json()["detail"][0]["msg"] == "Input should be a valid string"
    assert not Tag.objects.exists()
