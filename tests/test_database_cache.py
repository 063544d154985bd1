"""atlas/cache.py: Django's database cache, the rate limits' default home, with an `incr` that keeps the
key's expiry (Django's own would reset a one-minute window to the cache's five-minute default)."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.db import connection

pytestmark = pytest.mark.django_db


def _expires(key: str):
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM atlas_cache WHERE cache_key = %s", [cache.make_key(key)])
        return cursor.fetchone()[0]


def test_the_default_cache_is_the_database_table_made_by_migrate():
    assert (type(caches["default"]).__qualname__, type(caches["default"]).__module__) == (
        "DatabaseCache",
        "atlas.cache",
    )
    assert "atlas_cache" in connection.introspection.table_names()


def test_incr_counts_and_keeps_the_keys_expiry():
    cache.set("window", 0, timeout=60)
    expires = _expires("window")

    counts = [cache.incr("window") for _ in range(3)]

    assert counts == [1, 2, 3]
    assert cache.get("window") == 3
    assert _expires("window") == expires


def test_incr_of_a_missing_key_raises_value_error_as_django_does():
    with pytest.raises(ValueError, match="not found"):
        cache.incr("never-set")
