"""The MNIST service's dictionary clients against Atlas under gunicorn, over HTTP: the behaviours its own
suite checked (tests/test_dictionary.py there), written as this project's tests, with
VOCABULARY_PUBLIC_WRITES on (its clients send no credentials) and off (the default)."""

from __future__ import annotations

import pytest
import requests
from django.db import connection

pytestmark = [
    pytest.mark.servers,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="gunicorn shares the test database: PostgreSQL"),
]

WORD = {"word_text": "ephemeral", "language_code": "en"}
TAG = {"name": "vocabulary", "description": "Words for vocabulary building"}


@pytest.fixture
def hippo(start_replica):
    """A session on a replica with public writes, as the old dictionary was open; `hippo.url(path)`."""
    server = start_replica(workers=1, env={"VOCABULARY_PUBLIC_WRITES": "1"})
    session = requests.Session()
    session.url = lambda path: f"{server.url}/v1/dictionary{path}"
    return session


def test_without_public_writes_an_anonymous_write_is_a_403_and_reads_stay_open(start_replica):
    server = start_replica(workers=1)

    created = requests.post(f"{server.url}/v1/dictionary/words", json=WORD, timeout=30)
    listed = requests.get(f"{server.url}/v1/dictionary/words", timeout=30)

    assert created.status_code == 403
    assert listed.status_code == 200 and listed.json()["data"] == []


def test_a_words_life_create_duplicate_read_search_update_delete(hippo):
    created = hippo.post(hippo.url("/words"), json=WORD, timeout=30)
    duplicate = hippo.post(hippo.url("/words"), json=WORD, timeout=30)
    word_id = created.json()["id"]
    full = hippo.get(hippo.url(f"/words/{word_id}?include_all=true"), timeout=30)
    found = hippo.get(hippo.url("/words?search=eph"), timeout=30)
    updated = hippo.patch(hippo.url(f"/words/{word_id}"), json={"word_text": "updated_word"}, timeout=30)
    deleted = hippo.delete(hippo.url(f"/words/{word_id}"), timeout=30)
    gone = hippo.get(hippo.url(f"/words/{word_id}"), timeout=30)

    assert created.status_code == 201 and created.json()["word_text"] == "ephemeral" and "created_at" in created.json()
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["detail"]
    assert full.status_code == 200 and full.json()["definitions"] == []
    assert [w["word_text"] for w in found.json()["data"]] == ["ephemeral"]
    assert (updated.json()["word_text"], updated.json()["language_code"]) == ("updated_word", "en")
    assert deleted.status_code == 204
    assert gone.status_code == 404 and "not found" in gone.json()["detail"]


def test_a_bulk_create_with_tag_names_and_definitions(hippo):
    hippo.post(hippo.url("/tags"), json={"name": "medical", "description": "Medical terms"}, timeout=30)
    words = [
        {
            "word_text": "doctor",
            "language_code": "en",
            "tags": ["medical", "profession"],
            "definitions": [
                {
                    "definition_text": "A person qualified to treat illness",
                    "part_of_speech": "noun",
                    "order": 0,
                    "examples": [{"example_text": "I saw the doctor today", "source": None}],
                }
            ],
        },
        {"word_text": "nurse", "language_code": "en", "tags": ["medical", "profession", "healthcare"]},
    ]

    response = hippo.post(hippo.url("/words"), json=words, timeout=30)
    tags = hippo.get(hippo.url("/tags"), timeout=30)

    assert response.status_code == 201
    assert [len(word["tags"]) for word in response.json()] == [2, 3]
    assert tags.json()["total"] == 3  # medical reused; profession and healthcare created once


def test_definitions_are_added_by_the_words_path(hippo):
    word_id = hippo.post(hippo.url("/words"), json=WORD, timeout=30).json()["id"]
    body = {"definition_text": "lasting for a very short time", "part_of_speech": "adjective", "order": 1}

    created = hippo.post(hippo.url(f"/words/{word_id}/definitions"), json=body, timeout=30)
    missing = hippo.post(hippo.url("/words/99999/definitions"), json=body, timeout=30)

    assert created.status_code == 201
    assert (created.json()["word_id"], created.json()["part_of_speech"]) == (word_id, "adjective")
    assert missing.status_code == 404


def test_tags_added_to_a_word_by_name_come_back_as_objects(hippo):
    word_id = hippo.post(hippo.url("/words"), json=WORD, timeout=30).json()["id"]
    created = hippo.post(hippo.url("/tags"), json=TAG, timeout=30)
    duplicate = hippo.post(hippo.url("/tags"), json=TAG, timeout=30)

    patched = hippo.patch(hippo.url(f"/words/{word_id}"), json={"tags": ["vocabulary"]}, timeout=30)
    read = hippo.get(hippo.url(f"/words/{word_id}?include_tags=true"), timeout=30)

    assert created.status_code == 201 and created.json()["description"] == TAG["description"]
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["detail"]
    assert patched.json()["tags"] == [{"id": created.json()["id"], **TAG}]
    assert [tag["name"] for tag in read.json()["tags"]] == ["vocabulary"]


def test_an_unknown_dictionary_path_is_fastapis_json_404(hippo):
    response = hippo.get(hippo.url("/lemmas"), timeout=30)

    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_a_client_of_hippos_first_api_builds_and_reads_an_entry_at_vocabulary(start_replica):
    """The calls Hippo's README and first API (commit cdb6547) gave, in order, over HTTP."""
    server = start_replica(workers=1, env={"VOCABULARY_PUBLIC_WRITES": "1"})
    base, timeout = f"{server.url}/vocabulary", 30
    word = requests.post(f"{base}/words", json=WORD, timeout=timeout).json()
    definition = requests.post(
        f"{base}/definitions",
        json={"word_id": word["id"], "definition_text": "lasting a very short time", "part_of_speech": "adjective"},
        timeout=timeout,
    ).json()
    example = requests.post(
        f"{base}/examples",
        json={"definition_id": definition["id"], "example_text": "Fame is ephemeral."},
        timeout=timeout,
    ).json()
    tag = requests.post(f"{base}/tags", json=TAG, timeout=timeout).json()

    tagged = requests.post(f"{base}/words/{word['id']}/tags/{tag['id']}", timeout=timeout)
    read = requests.get(f"{base}/words/{word['id']}", timeout=timeout)
    found = requests.get(f"{base}/words/search", params={"q": "HEMER"}, timeout=timeout)
    listed = requests.get(f"{base}/words", params={"skip": 0, "limit": 10}, timeout=timeout)

    assert (tagged.status_code, tagged.json()) == (201, {"word_id": word["id"], "tag_id": tag["id"]})
    assert read.json() == {**word, "definitions": [{**definition, "examples": [example]}]}
    assert found.json() == listed.json() == [word]
