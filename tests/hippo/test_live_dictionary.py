"""The dictionary over HTTP against gunicorn, with VOCABULARY_PUBLIC_WRITES off (the default) and on."""

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

WORD = {"text": "hippo", "language": "en"}


def test_without_public_writes_an_anonymous_write_is_a_403_and_reads_stay_open(start_replica):
    server = start_replica(workers=1)

    created = requests.post(f"{server.url}/vocabulary/words", json=WORD, timeout=30)
    listed = requests.get(f"{server.url}/vocabulary/words", timeout=30)

    assert created.status_code == 403
    assert listed.status_code == 200 and listed.json()["data"] == []


def test_with_public_writes_an_anonymous_client_creates_reads_and_deletes(start_replica):
    server = start_replica(workers=1, env={"VOCABULARY_PUBLIC_WRITES": "1"})

    created = requests.post(f"{server.url}/vocabulary/words", json=WORD, timeout=30)
    word_id = created.json()["id"]
    read = requests.get(f"{server.url}/vocabulary/words/{word_id}", timeout=30)
    deleted = requests.delete(f"{server.url}/vocabulary/words/{word_id}", timeout=30)

    assert (created.status_code, read.status_code, deleted.status_code) == (201, 200, 204)
    assert read.json()["text"] == "hippo"
