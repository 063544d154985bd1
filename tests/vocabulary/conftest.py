"""Fixtures of the vocabulary tests: an anonymous client, a client holding the admin token, words."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from vocabulary import services
from vocabulary.models import Word

ADMIN_TOKEN = "vocabulary-test-token"


@pytest.fixture
def admin_token() -> Iterator[str]:
    with override_settings(ADMIN_TOKEN=ADMIN_TOKEN):
        yield ADMIN_TOKEN


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def writer(admin_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    return client


@pytest.fixture
def make_word() -> Callable[..., Word]:
    def make(text: str, language: str = "en", **parts) -> Word:
        return services.word_create(text=text, language=language, **parts)

    return make
