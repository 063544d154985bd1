"""Hippo's first dictionary API at /vocabulary/ (its commit cdb6547 and before), words: JSON arrays windowed
by skip/limit, a word read with its definitions, search by `q`, access, paths and schema (given/when/then)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.vocabulary.legacy import API, make_cat, missing, word_out
from vocabulary.models import Definition, Word

pytestmark = pytest.mark.django_db


@pytest.fixture
def cat(make_word):
    return make_cat(make_word)


# --- words ---------------------------------------------------------------------------------------------


def test_words_are_a_json_array_windowed_by_skip_and_limit(anon, make_word):
    words = [make_word(text) for text in ("ant", "bee", "cat", "dog")]

    response = anon.get(f"{API}/words?skip=1&limit=2")

    assert response.status_code == 200
    assert response.json() == [word_out(words[1]), word_out(words[2])]


def test_the_word_list_filters_by_language(anon, make_word):
    make_word("chat", "fr")
    dog = make_word("dog")

    response = anon.get(f"{API}/words?language=en")

    assert response.json() == [word_out(dog)]


@pytest.mark.parametrize(
    ("query", "name", "msg", "kind"),
    [
        ("skip=-1", "skip", "Input should be greater than or equal to 0", "greater_than_equal"),
        ("limit=0", "limit", "Input should be greater than or equal to 1", "greater_than_equal"),
        ("limit=1001", "limit", "Input should be less than or equal to 1000", "less_than_equal"),
        ("skip=x", "skip", "Input should be a valid integer, unable to parse string as an integer", "int_parsing"),
    ],
)
def test_skip_and_limit_out_of_bounds_are_422_at_the_query(anon, query, name, msg, kind):
    response = anon.get(f"{API}/words?{query}")

    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["query", name], "msg": msg, "type": kind}]


def test_a_skip_past_any_table_answers_an_empty_array(anon, make_word):
    make_word("cat")

    response = anon.get(f"{API}/words?skip=99999999999999999999999")

    assert (response.status_code, response.json()) == (200, [])


def test_a_word_is_created_alone_and_answered_without_updated_at(writer):
    body = {"word_text": "cat", "language_code": "en", "definitions": [{"definition_text": "x"}]}  # ignored

    response = writer.post(f"{API}/words", body, format="json")

    assert response.status_code == 201
    assert response.json() == word_out(Word.objects.get(text="cat"))
    assert Definition.objects.count() == 0


def test_a_word_created_twice_is_400_naming_it(writer, make_word):
    make_word("cat")

    response = writer.post(f"{API}/words", {"word_text": "cat", "language_code": "en"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Word 'cat' already exists for language 'en'"


def test_a_word_by_id_carries_its_definitions_and_their_examples_only(anon, cat):
    definition = cat.definitions.get()
    example = definition.examples.get()

    response = anon.get(f"{API}/words/{cat.pk}")

    assert response.status_code == 200
    assert response.json() == {
        **word_out(cat),
        "definitions": [
            {
                "id": definition.pk,
                "word_id": cat.pk,
                "definition_text": "a small feline",
                "part_of_speech": "noun",
                "order": definition.order,
                "examples": [
                    {"id": example.pk, "definition_id": definition.pk, "example_text": "The cat sat.", "source": None}
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("words/999", 404, {"detail": "Word 999 not found"}),
        ("definitions/999", 404, {"detail": "Definition 999 not found"}),
        ("tags/999", 404, {"detail": "Tag 999 not found"}),
        ("words/999/tags", 404, {"detail": "Word 999 not found"}),
    ],
)
def test_a_missing_row_is_404_in_hippos_words(anon, path, status, body):
    response = anon.get(f"{API}/{path}")

    assert (response.status_code, response.json()) == (status, body)


def test_a_word_id_that_is_not_an_integer_is_422_at_the_path(anon):
    response = anon.get(f"{API}/words/abc")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["path", "word_id"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]


def test_a_word_patch_changes_the_text_ignores_unknown_keys_and_answers_the_word_alone(writer, cat):
    response = writer.patch(f"{API}/words/{cat.pk}", {"word_text": "kitty", "tag_ids": [1]}, format="json")

    assert response.status_code == 200
    assert response.json() == word_out(cat)
    assert (cat.text, cat.tags.count()) == ("kitty", 1)


def test_a_word_patch_with_a_null_text_is_422(writer, cat):
    response = writer.patch(f"{API}/words/{cat.pk}", {"word_text": None}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "word_text"], "msg": "This field may not be null.", "type": "string_type"}
    ]


def test_a_word_is_deleted_with_its_definitions(writer, cat):
    response = writer.delete(f"{API}/words/{cat.pk}")

    assert response.status_code == 204
    assert (Word.objects.count(), Definition.objects.count()) == (0, 0)


# --- search --------------------------------------------------------------------------------------------


def test_search_finds_words_holding_q_anywhere_ignoring_case(anon, make_word):
    scatter, cat = make_word("Scatter"), make_word("cat")
    make_word("dog")
    make_word("chat", "fr")

    response = anon.get(f"{API}/words/search?q=CAT&language=en")

    assert response.status_code == 200
    assert response.json() == [word_out(cat), word_out(scatter)]


def test_search_is_windowed_by_skip_and_limit(anon, make_word):
    make_word("cat")
    scatter = make_word("scatter")

    response = anon.get(f"{API}/words/search?q=cat&skip=1&limit=1")

    assert response.json() == [word_out(scatter)]


@pytest.mark.parametrize(
    ("query", "item"),
    [
        ("", missing("query", "q", "Field required")),
        ("?q=", {"loc": ["query", "q"], "msg": "String should have at least 1 character", "type": "string_too_short"}),
    ],
)
def test_search_without_q_is_422_at_the_query(anon, query, item):
    response = anon.get(f"{API}/words/search{query}")

    assert (response.status_code, response.json()["detail"]) == (422, [item])


# --- access and paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "definitions"), ("post", "examples"), ("post", "words/1/tags/1"), ("delete", "words/1/tags/1")],
)
def test_writes_need_credentials_as_at_v1_dictionary(method, path):
    response = getattr(APIClient(), method)(f"{API}/{path}", {}, format="json")

    assert (response.status_code, response.json()) == (403, {"detail": "Authentication credentials were not provided."})


def test_a_trailing_slash_is_accepted(anon, cat):
    response = anon.get(f"{API}/words/{cat.pk}/")

    assert (response.status_code, response.json()["id"]) == (200, cat.pk)


def test_v1_dictionary_keeps_its_envelope(anon, cat):
    response = anon.get("/v1/dictionary/words")

    assert [w["word_text"] for w in response.json()["data"]] == ["cat"]


def test_the_schema_documents_every_route_and_the_lists_as_arrays(anon):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = {path: set(methods) for path, methods in schema["paths"].items() if path.startswith(f"{API}/")}
    words_list = schema["paths"][f"{API}/words"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert paths == {
        f"{API}/words": {"get", "post"},
        f"{API}/words/search": {"get"},
        f"{API}/words/{{word_id}}": {"get", "patch", "delete"},
        f"{API}/words/{{word_id}}/tags": {"get"},
        f"{API}/words/{{word_id}}/tags/{{tag_id}}": {"post", "delete"},
        f"{API}/definitions": {"get", "post"},
        f"{API}/definitions/{{definition_id}}": {"get", "patch", "delete"},
        f"{API}/examples": {"get", "post"},
        f"{API}/examples/{{example_id}}": {"patch", "delete"},
        f"{API}/tags": {"get", "post"},
        f"{API}/tags/{{tag_id}}": {"get", "patch", "delete"},
        f"{API}/word-relations": {"get", "post"},
        f"{API}/word-relations/{{word_id_1}}/{{word_id_2}}": {"delete"},
    }
    assert words_list == {"type": "array", "items": {"$ref": "#/components/schemas/WordCore"}}


@pytest.mark.parametrize("path", ["definitions", "examples", "word-relations"])
def test_the_schema_says_a_post_naming_a_missing_parent_is_a_404(anon, path):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert {"201", "404", "422"} <= set(schema["paths"][f"{API}/{path}"]["post"]["responses"])
