"""The threat-intelligence service's environment names, read by atlas/settings.py, and its gzip rule."""

from __future__ import annotations

import gzip
import importlib
import json

import pytest
from rest_framework.test import APIClient

import atlas.settings as atlas_settings

OLD_NAMES = (
    "ALLOWED_ORIGINS", "CORS_ORIGINS", "MODEL_STORAGE_PATH", "MODEL_CACHE_SIZE_MB", "REDIS_URL",
    "RAILWAY_PUBLIC_DOMAIN", "RAILWAY_ENVIRONMENT", "ALLOWED_HOSTS",
    "MAX_MEDIA_SIZE_MB",
)  # fmt: skip


@pytest.fixture
def settings_with(monkeypatch):
    """atlas.settings as read under these environment variables (reloaded back afterwards)."""

    def read(**env: str):
        for name in OLD_NAMES:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(atlas_settings)

    yield read
    monkeypatch.undo()
    importlib.reload(atlas_settings)


def test_cors_origins_as_a_json_list_is_allowed_origins(settings_with):
    read = settings_with(CORS_ORIGINS='["https://halo.example", "https://sait.example"]')

    assert read.CORS_ALLOWED_ORIGINS == ["https://halo.example", "https://sait.example"]


def test_cors_origins_comma_separated_and_allowed_origins_wins(settings_with):
    assert settings_with(CORS_ORIGINS="https://a.example, https://b.example").CORS_ALLOWED_ORIGINS == [
        "https://a.example",
        "https://b.example",
    ]
    read = settings_with(CORS_ORIGINS="https://a.example", ALLOWED_ORIGINS="https://c.example")
    assert read.CORS_ALLOWED_ORIGINS == ["https://c.example"]


def test_model_storage_path_and_cache_size_are_the_store_folder_and_cache_bound(settings_with, tmp_path):
    read = settings_with(MODEL_STORAGE_PATH=str(tmp_path / "models"), MODEL_CACHE_SIZE_MB="500")

    store = read.MODEL_STORE_DIR
    assert store == tmp_path / "models"
    assert read.MODEL_CACHE_MAX_MB == 500


def test_max_media_size_defaults_to_50_mb(settings_with):
    assert settings_with().MAX_MEDIA_SIZE_MB == 50


def test_railway_adds_its_public_domain_and_health_check_host(settings_with):
    read = settings_with(ALLOWED_HOSTS="atlas.example", RAILWAY_PUBLIC_DOMAIN="atlas-production.up.railway.app")

    assert read.ALLOWED_HOSTS == ["atlas.example", "atlas-production.up.railway.app", "healthcheck.railway.app"]


def test_redis_url_makes_the_cache_redis_and_none_keeps_it_in_the_database(settings_with):
    redis_cache = settings_with(REDIS_URL="redis://127.0.0.1:6379/0").CACHES["default"]
    assert (redis_cache["BACKEND"], redis_cache["LOCATION"]) == (
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/0",
    )
    database_cache = settings_with().CACHES["default"]
    assert (database_cache["BACKEND"], database_cache["LOCATION"]) == ("atlas.cache.DatabaseCache", "atlas_cache")


def test_the_database_cache_holds_a_million_counters_before_it_culls(settings_with):
    assert settings_with().CACHES["default"]["OPTIONS"] == {"MAX_ENTRIES": 1_000_000}


# --- gzip --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_json_answer_of_1000_bytes_or_more_is_gzipped_when_accepted():
    response = APIClient().get("/api/schema/?format=json", HTTP_ACCEPT_ENCODING="gzip")

    assert response["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(response.content))["paths"]) > 10


@pytest.mark.django_db
def test_a_small_json_answer_is_not_gzipped():
    response = APIClient().get("/health", HTTP_ACCEPT_ENCODING="gzip")

    assert len(response.content) < 1000
    assert not response.has_header("Content-Encoding")


@pytest.mark.django_db
def test_nothing_is_gzipped_for_a_client_that_does_not_accept_it():
    response = APIClient().get("/api/schema/?format=json")

    assert not response.has_header("Content-Encoding")


def test_no_allowed_origins_outside_debug_allows_no_origin(settings_with):
    read = settings_with(
        ATLAS_ENV="production", SECRET_KEY="x" * 50, ALLOWED_HOSTS="atlas.example", ATLAS_ALLOW_EPHEMERAL="1"
    )

    assert (read.CORS_ALLOWED_ORIGINS, read.CORS_ALLOW_ALL_ORIGINS) == ([], False)
