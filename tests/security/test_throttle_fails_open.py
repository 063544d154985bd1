"""A rate limit whose cache cannot be reached lets predictions through, and says so in the log (issue 29 §2:
the shared cache may be the database, which can be down)."""

from __future__ import annotations

import json
import logging

import pytest
from rest_framework.test import APIClient

from inference.runtimes import threat_rules
from models_registry import services
from tests.servers.seaweedfs import free_ports

pytestmark = pytest.mark.django_db


def test_a_throttled_prediction_is_answered_when_the_rate_limit_cache_is_unreachable(settings, tmp_path, caplog):
    # Given the threat classifier active, and the rate limits counted in a cache nothing answers at
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(threat_rules.extended_taxonomy()))
    version = services.model_version_register(
        model_name="threat_classifier", version="1.0.0", source=path, runtime="threat_rules", actor="t"
    )
    services.model_version_promote(version=version, actor="t")
    (closed_port,) = free_ports(1)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

    # When a prediction of a throttled endpoint comes
    with caplog.at_level(logging.WARNING, logger="atlas"):
        response = APIClient().post("/api/v1/classify/threat", {"type": "text", "data": "robbed"}, format="json")

    # Then it is answered, and the log says the limit was not counted
    assert response.status_code == 200, response.content
    assert [r.getMessage().split(":")[0] for r in caplog.records if "not counted" in r.getMessage()] == [
        "rate limit classify not counted"
    ]
