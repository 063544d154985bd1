"""Rate limits are shared by every worker: two workers together let 60 GET /health a minute through from one
client, not 60 each, whether they count in Redis (REDIS_URL) or, by default, in the database (Django's
database cache, whose `incr` Atlas makes atomic: atlas/cache.py)."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def key_prefix():
    """A key prefix of this run's own, removed afterwards."""
    prefix = f"atlas-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.mark.parametrize("counted_in", ["redis", "database"])
def test_two_workers_share_one_limit(start_replica, key_prefix, counted_in):
    replica = start_replica(
        workers=2,
        env={
            "REDIS_URL": REDIS_URL if counted_in == "redis" else "",
            "CACHE_KEY_PREFIX": key_prefix,
            "ACCESS_LOG": "1",
        },
    )

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda _: requests.get(f"{replica.url}/health", timeout=30).status_code, range(90)))
    refused = requests.get(f"{replica.url}/health", timeout=30)

    def answered_by() -> set[str]:
        return set(re.findall(r"\[(\d+)\] atlas.requests: GET /health (?:200|429) ", replica.log_path.read_text()))

    def both_workers_answered() -> bool:  # over the limit by now: a worker that had none still refuses
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(lambda _: requests.get(f"{replica.url}/health", timeout=30).status_code, range(8))) == {
                429
            }
        return len(answered_by()) == 2

    wait_until(both_workers_answered, timeout=60, interval=0, what="answers from both workers")
    assert (codes.count(200), codes.count(429)) == (60, 30)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
