"""GET /vocabulary/words: search, filters, include=, the envelope and its limits (given/when/then)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def words(make_word):
    make_word("run", forms=[{"form": "ran", "form_type": "past"}, {"form": "running"}])
    make_word("Rabbit", tags=["animal"])
    make_word("apple", definitions=[{"text": "a fruit", "part_of_speech": "noun"}])
    make_word("rat", language="de")
    make_word("dog")


def texts(response) -> list[str]:
    return [word["text"] for word in response.json()["data"]]


def test_list_answers_the_envelope_ordered_by_text_ignoring_case(anon, words):
    response = anon.get("/vocabulary/words", {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "total", "page", "page_size", "total_pages", "has_more"}
    assert (body["total"], body["page"], body["page_size"], body["total_pages"], body["has_more"]) == (5, 1, 2, 3, True)
    assert texts(response) == ["apple", "dog"]  # then Rabbit, rat, run
    assert set(body["data"][0]) == {"id", "text", "language", "created_at", "updated_at"}


def test_last_page_has_no_more(anon, words):
    response = anon.get("/vocabulary/words", {"page_size": 2, "page": 3})

    assert (texts(response), response.json()["has_more"]) == (["run"], False)


def test_search_is_a_case_insensitive_prefix_of_the_word_or_a_form(anon, words):
    response = anon.get("/vocabulary/words", {"search": "RA"})

    # Rabbit by its text, rat by its text, run by its form "ran" (once, although it has one matching form)
    assert texts(response) == ["Rabbit", "rat", "run"]
    assert response.json()["total"] == 3


def test_search_by_form_prefix_counts_each_word_once(anon, words):
    response = anon.get("/vocabulary/words", {"search": "r", "language": "en"})

    assert texts(response) == ["Rabbit", "run"]
    assert response.json()["total"] == 2


def test_include_embeds_only_the_named_parts(anon, words):
    response = anon.get("/vocabulary/words", {"include": "definitions,tags", "search": "a"})

    [apple] = response.json()["data"]
    assert set(apple) == {"id", "text", "language", "created_at", "updated_at", "definitions", "tags"}
    assert [d["text"] for d in apple["definitions"]] == ["a fruit"]
    assert apple["tags"] == []


def test_include_costs_one_query_per_part_whatever_the_number_of_words(anon, words, django_assert_num_queries):
    # count + words + definitions + examples + tags + forms
    with django_assert_num_queries(6):
        response = anon.get("/vocabulary/words", {"include": "definitions,tags,forms"})

    assert response.json()["total"] == 5


def test_unknown_include_is_a_422_naming_it(anon):
    response = anon.get("/vocabulary/words", {"include": "definitions,relations"})

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "include": ["Unknown value(s) relations; choose from: definitions, tags, forms."]
    }


def test_page_size_above_1000_is_a_422_naming_the_limit(anon):
    at_limit = anon.get("/vocabulary/words", {"page_size": 1000})

    response = anon.get("/vocabulary/words", {"page_size": 1001})

    assert (at_limit.status_code, at_limit.json()["page_size"]) == (200, 1000)
    assert response.status_code == 422
    assert response.json()["errors"] == {"page_size": ["page_size may be at most 1000 (got 1001)."]}


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_a_page_that_is_not_a_positive_integer_is_a_422(anon, page):
    response = anon.get("/vocabulary/words", {"page": page})

    assert response.status_code == 422
    assert response.json()["errors"] == {"page": [f"'{page}' is not a positive integer."]}


def test_a_page_past_the_last_is_an_empty_page(anon, words):
    response = anon.get("/vocabulary/words", {"page": 9, "page_size": 2})

    assert response.status_code == 200
    assert response.json() == {"data": [], "total": 5, "page": 9, "page_size": 2, "total_pages": 3, "has_more": False}


def test_an_empty_list_is_one_empty_page(anon):
    response = anon.get("/vocabulary/words")

    assert response.json() == {"data": [], "total": 0, "page": 1, "page_size": 100, "total_pages": 0, "has_more": False}


def test_get_by_language_and_text_with_or_without_trailing_slash(anon, make_word):
    word = make_word("ice cream", forms=[{"form": "ice creams"}])

    plain = anon.get("/vocabulary/words/en/ice cream")
    slashed = anon.get("/vocabulary/words/en/ice%20cream/")

    assert (plain.status_code, slashed.status_code) == (200, 200)
    assert plain.json()["id"] == slashed.json()["id"] == word.pk
    assert [f["form"] for f in plain.json()["forms"]] == ["ice creams"]


def test_get_by_id_shows_every_part(anon, make_word):
    word = make_word("cat", tags=["pet"], definitions=[{"text": "feline", "part_of_speech": "noun"}])

    body = anon.get(f"/vocabulary/words/{word.pk}").json()

    assert (body["text"], body["tags"], [d["text"] for d in body["definitions"]], body["forms"]) == (
        "cat",
        ["pet"],
        ["feline"],
        [],
    )


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/vocabulary/words/999", "Word 999 not found"),
        ("/vocabulary/words/abc", "Word abc not found"),
        ("/vocabulary/words/99999999999999999999", "Word 99999999999999999999 not found"),
        ("/vocabulary/words/en/nothing", "Word 'nothing' (en) not found"),
        ("/vocabulary/definitions/999", "Definition 999 not found"),
        ("/vocabulary/examples/999", "Example 999 not found"),
        ("/vocabulary/tags/999", "Tag 999 not found"),
        ("/vocabulary/word-relations/999/", "WordRelation 999 not found"),
    ],
)
def test_missing_rows_are_404_json(anon, path, detail):
    response = anon.get(path)

    assert (response.status_code, response.json()) == (404, {"detail": detail})


def test_a_page_number_in_non_ascii_digits_is_a_422(anon):
    response = anon.get("/vocabulary/words", {"page": "²"})

    assert response.status_code == 422
