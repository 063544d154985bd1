"""Who may write, and the admin pages (given/when/then)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from vocabulary.models import Word

pytestmark = pytest.mark.django_db

CAT = {"word_text": "cat", "language_code": "en"}


def test_anonymous_reads_but_cannot_write(anon, make_word):
    word = make_word("dog")

    read = anon.get(f"/v1/dictionary/words/{word.pk}")
    created = anon.post("/v1/dictionary/words", CAT, format="json")
    deleted = anon.delete(f"/v1/dictionary/words/{word.pk}")

    assert read.status_code == 200
    assert (created.status_code, deleted.status_code) == (403, 403)
    assert created.json() == {"detail": "Authentication credentials were not provided."}
    assert list(Word.objects.values_list("text", flat=True)) == ["dog"]


def test_admin_token_may_write(writer):
    response = writer.post("/vocabulary/words/", CAT, format="json")  # the older README's path, with a slash

    assert response.status_code == 201


def test_a_wrong_token_is_a_403(admin_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-the-token")

    response = client.post("/v1/dictionary/words", CAT, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid admin token."}
    assert Word.objects.count() == 0


def test_a_signed_in_user_may_write():
    user = get_user_model().objects.create_user("editor", password="long-enough-password")
    client = APIClient()
    client.force_authenticate(user)

    response = client.post("/v1/dictionary/tags", {"name": "slang", "description": "informal"}, format="json")

    assert response.status_code == 201
    assert response.json()["name"] == "slang"


def test_admin_shows_a_word_with_its_definitions_and_forms_and_a_definition_with_its_examples(client, make_word):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "long-enough-password")
    client.force_login(admin)
    word = make_word(
        "cat",
        definitions=[{"text": "a small feline", "part_of_speech": "noun", "examples": [{"text": "The cat sat."}]}],
        forms=[{"form": "kitties"}],
    )
    definition = word.definitions.get()

    word_page = client.get(f"/admin/vocabulary/word/{word.pk}/change/")
    definition_page = client.get(f"/admin/vocabulary/definition/{definition.pk}/change/")
    pages = [
        client.get(f"/admin/vocabulary/{name}/")
        for name in ("word", "definition", "example", "tag", "wordrelation", "wordform")
    ]

    assert (word_page.status_code, definition_page.status_code) == (200, 200)
    assert "a small feline" in word_page.content.decode() and "kitties" in word_page.content.decode()
    assert "The cat sat." in definition_page.content.decode()
    assert [page.status_code for page in pages] == [200] * 6


def test_public_writes_let_an_anonymous_client_create_and_delete(anon, settings):
    settings.VOCABULARY_PUBLIC_WRITES = True

    created = anon.post("/v1/dictionary/words", CAT, format="json")
    deleted = anon.delete(f"/v1/dictionary/words/{created.json()['id']}")

    assert (created.status_code, deleted.status_code) == (201, 204)
    assert Word.objects.count() == 0


def test_public_writes_do_not_excuse_a_wrong_token(admin_token, settings):
    settings.VOCABULARY_PUBLIC_WRITES = True
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-the-token")

    response = client.post("/v1/dictionary/words", CAT, format="json")

    assert response.status_code == 403
    assert Word.objects.count() == 0
