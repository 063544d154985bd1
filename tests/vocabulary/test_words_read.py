"""GET /v1/dictionary/words: search, filters, include_*, the envelope and its limits (given/when/then)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

WORDS = "/v1/dictionary/words"
PLAIN = {"id", "word_text", "language_code", "created_at", "updated_at"}
FULL = PLAIN | {"definitions", "tags", "word_forms"}


@pytest.fixture
def words(make_word):
    make_word("run", forms=[{"form": "ran", "form_type": "past"}, {"form": "running"}])
    make_word("Rabbit", tags=["animal"])
    make_word("apple", definitions=[{"text": "a fruit", "part_of_speech": "noun"}])
    make_word("rat", language="de")
    make_word("dog")


def texts(response) -> list[str]:
    return [word["word_text"] for word in response.json()["data"]]


def test_list_answers_the_envelope_ordered_by_text_ignoring_case(anon, words):
    response = anon.get(WORDS, {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "total", "page", "page_size", "total_pages", "has_more"}
    assert (body["total"], body["page"], body["page_size"], body["total_pages"], body["has_more"]) == (5, 1, 2, 3, True)
    assert texts(response) == ["apple", "dog"]  # then Rabbit, rat, run
    assert set(body["data"][0]) == PLAIN


def test_last_page_has_no_more(anon, words):
    response = anon.get(WORDS, {"page_size": 2, "page": 3})

    assert (texts(response), response.json()["has_more"]) == (["run"], False)


def test_search_is_a_case_insensitive_prefix_of_the_word_or_a_form(anon, words):
    response = anon.get(WORDS, {"search": "RA"})

    # Rabbit by its text, rat by its text, run by its form "ran" (once, although it has one matching form)
    assert texts(response) == ["Rabbit", "rat", "run"]
    assert response.json()["total"] == 3


def test_search_and_language_together(anon, words):
    response = anon.get(WORDS, {"search": "r", "language": "en"})

    assert texts(response) == ["Rabbit", "run"]
    assert response.json()["total"] == 2


@pytest.mark.parametrize("flag", ["include_all", "include_definitions", "include_tags"])
def test_each_include_flag_answers_the_words_with_their_parts(anon, words, flag):
    response = anon.get(WORDS, {flag: "true", "search": "a"})

    [apple] = response.json()["data"]
    assert set(apple) == FULL
    assert [d["definition_text"] for d in apple["definitions"]] == ["a fruit"]
    assert (apple["tags"], apple["word_forms"]) == ([], [])


def test_include_costs_one_query_per_part_whatever_the_number_of_words(anon, words, django_assert_num_queries):
    # count + words + definitions + examples + tags + forms
    with django_assert_num_queries(6):
        response = anon.get(WORDS, {"include_all": "true"})

    assert response.json()["total"] == 5


@pytest.mark.parametrize(("raw", "full"), [("1", True), ("yes", True), ("False", False), ("off", False)])
def test_include_flags_read_booleans_as_fastapi_did(anon, words, raw, full):
    response = anon.get(WORDS, {"include_all": raw, "search": "dog"})

    assert set(response.json()["data"][0]) == (FULL if full else PLAIN)


def test_a_flag_that_is_not_a_boolean_is_a_422_at_the_query(anon):
    response = anon.get(WORDS, {"include_tags": "maybe"})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["query", "include_tags"],
            "msg": "Input should be a valid boolean, unable to interpret input",
            "type": "bool_parsing",
        }
    ]


def test_page_size_above_1000_is_a_422_naming_the_limit(anon):
    at_limit = anon.get(WORDS, {"page_size": 1000})
    response = anon.get(WORDS, {"page_size": 1001})

    assert (at_limit.status_code, at_limit.json()["page_size"]) == (200, 1000)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["query", "page_size"], "msg": "Input should be less than or equal to 1000", "type": "less_than_equal"}
    ]


@pytest.mark.parametrize(
    ("page", "kind"),
    [("0", "greater_than_equal"), ("-1", "greater_than_equal"), ("two", "int_parsing"), ("²", "int_parsing")],
)
def test_a_page_below_1_or_not_an_integer_is_a_422(anon, page, kind):
    response = anon.get(WORDS, {"page": page})

    assert response.status_code == 422
    assert [(item["loc"], item["type"]) for item in response.json()["detail"]] == [(["query", "page"], kind)]


def test_a_page_past_the_last_is_an_empty_page(anon, words):
    response = anon.get(WORDS, {"page": 9, "page_size": 2})

    assert response.status_code == 200
    assert response.json() == {"data": [], "total": 5, "page": 9, "page_size": 2, "total_pages": 3, "has_more": False}


def test_a_page_too_large_for_the_database_is_an_empty_page(anon, words):
    response = anon.get(WORDS, {"page": 10**30})

    assert (response.status_code, response.json()["data"]) == (200, [])


def test_an_empty_dictionary_is_one_empty_page(anon):
    response = anon.get(WORDS)

    assert response.json() == {"data": [], "total": 0, "page": 1, "page_size": 100, "total_pages": 0, "has_more": False}


def test_by_language_and_text_answers_the_parts_unless_include_all_is_false(anon, make_word):
    word = make_word("ice cream", forms=[{"form": "ice creams"}])

    plain = anon.get(f"{WORDS}/en/ice cream", {"include_all": "false"})
    full = anon.get(f"{WORDS}/en/ice%20cream/")

    assert (plain.status_code, full.status_code) == (200, 200)
    assert set(plain.json()) == PLAIN and plain.json()["id"] == word.pk
    assert [f["form_text"] for f in full.json()["word_forms"]] == ["ice creams"]


def test_by_id_answers_the_word_alone_unless_asked(anon, make_word):
    word = make_word("cat", tags=["pet"], definitions=[{"text": "feline", "part_of_speech": "noun"}])

    plain = anon.get(f"{WORDS}/{word.pk}").json()
    full = anon.get(f"{WORDS}/{word.pk}", {"include_all": "true"}).json()

    assert set(plain) == PLAIN
    assert (
        full["word_text"],
        [t["name"] for t in full["tags"]],
        [d["definition_text"] for d in full["definitions"]],
    ) == (
        "cat",
        ["pet"],
        ["feline"],
    )


def test_a_word_named_definitions_is_found_by_text(anon, make_word):
    word = make_word("definitions")

    response = anon.get(f"{WORDS}/en/definitions")

    assert (response.status_code, response.json()["id"]) == (200, word.pk)


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/v1/dictionary/words/999", "Word 999 not found"),
        ("/v1/dictionary/words/99999999999999999999", "Word 99999999999999999999 not found"),
        ("/v1/dictionary/words/en/nothing", "Word 'nothing' not found for language 'en'"),
        ("/v1/dictionary/definitions/999", "Definition 999 not found"),
        ("/v1/dictionary/examples/999", "Example 999 not found"),
        ("/v1/dictionary/tags/999", "Tag 999 not found"),
        ("/vocabulary/words/999/", "Word 999 not found"),
    ],
)
def test_missing_rows_are_404_saying_not_found(anon, path, detail):
    response = anon.get(path)

    assert (response.status_code, response.json()) == (404, {"detail": detail})


def test_an_id_that_is_not_an_integer_is_a_422_at_the_path(anon):
    response = anon.get(f"{WORDS}/abc")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["path", "word_id"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]
