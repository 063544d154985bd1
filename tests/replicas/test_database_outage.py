"""The database down (issue 29 §2): what needs it answers 503 with Retry-After, predictions go on from what
is loaded (and, after a restart, from the verified cache and the last known pointer), health says the
registry is unreachable, and everything recovers without a restart.

The outage is local to the test: the replica reaches PostgreSQL through a TCP proxy the test takes down
(tests/servers/tcp_proxy.py); the machine's PostgreSQL stays up."""

from __future__ import annotations

import pytest
import requests
from django.db import connection

from tests.servers import gunicorn as replicas
from tests.servers.tcp_proxy import TcpProxy
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PIXELS = {"pixels": [0.5] * 784}


@pytest.fixture
def proxy():
    if connection.vendor != "postgresql":
        pytest.skip("an outage of a database server: PostgreSQL behind a TCP proxy")
    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432)).up()
    yield proxy
    proxy.down()


@pytest.fixture
def through_proxy(proxy, settings, tmp_path):
    """start(cache=...) -> a gunicorn replica of one worker whose DATABASE_URL goes through the proxy."""

    def start(*, name: str, cache) -> replicas.Replica:
        url = replicas.database_url().replace(f":{connection.settings_dict['PORT'] or 5432}/", f":{proxy.port}/")
        env = {
            "DATABASE_URL": url,
            "MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR),
            "MODEL_CACHE_DIR": str(cache),
            "ADMIN_TOKEN": "tok",
            "DB_CONNECT_TIMEOUT": "2",
            "ATLAS_RELOAD_POLL_SECONDS": "0.25",
        }
        replica = replicas.Replica(folder=tmp_path / name, workers=1, env=env, server="gunicorn")
        started.append(replica)
        return replica.start()

    started: list[replicas.Replica] = []
    yield start
    for replica in started:
        replica.stop()


def _get(replica, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{replica.url}{path}", headers=headers, timeout=15)


def _predict(replica) -> requests.Response:
    return requests.post(f"{replica.url}/predict", json=PIXELS, timeout=15)


def _v2_infer(replica) -> requests.Response:
    body = {"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": PIXELS["pixels"]}]}
    return requests.post(f"{replica.url}/v2/models/digit_classifier/infer", json=body, timeout=15)


def test_during_an_outage_registry_and_dictionary_reads_are_503_with_retry_after(
    digits, proxy, through_proxy, tmp_path
):
    # Given a replica serving the digit model, then the database gone
    replica = through_proxy(name="serving", cache=tmp_path / "cache")
    assert _predict(replica).status_code == 200
    proxy.down()

    # When the registry and the dictionary are read
    registry = _get(replica, "/api/v1/registry/models/", Authorization="Bearer tok")
    dictionary = _get(replica, "/v1/dictionary/words")
    admin = _get(replica, "/admin/", Cookie="sessionid=a-signed-in-user")  # a view outside DRF

    # Then each is a 503 in the house shape that says when to retry
    for response in (registry, dictionary, admin):
        assert (response.status_code, response.headers.get("Retry-After"), response.json()["error"]) == (
            503,
            "5",
            "database_unavailable",
        ), response.text


def test_during_an_outage_predictions_are_served_and_health_recovers_without_a_restart(
    digits, proxy, through_proxy, tmp_path
):
    # Given a replica serving the digit model, then the database gone
    replica = through_proxy(name="serving", cache=tmp_path / "cache")
    proxy.down()

    # When predictions come, then they are answered by the version loaded before the outage
    answers = [_predict(replica) for _ in range(5)]
    assert [(a.status_code, a.json()["version"]) for a in answers] == [(200, "1.0.0")] * 5
    through_django = requests.post(f"{replica.url}/predict?through=django", json=PIXELS, timeout=15)
    assert (through_django.status_code, through_django.json()["version"]) == (200, "1.0.0")
    health = _get(replica, "/healthz").json()
    assert (health["registry"], health["source"], health["version"]) == ("unreachable", "registry", "1.0.0")

    # When the database comes back, then health turns good without a restart
    proxy.up()
    wait_until(lambda: _get(replica, "/healthz").status_code == 200, timeout=30, what="/healthz 200 again")
    assert _get(replica, "/readyz").json()["status"] == "ready"


def test_a_replica_started_during_an_outage_serves_the_last_known_version_from_the_verified_cache(
    digits, proxy, through_proxy, tmp_path
):
    # Given a replica that served the digit model (its cache holds the file and the last known pointer), stopped
    cache = tmp_path / "cache"
    first = through_proxy(name="first", cache=cache)
    assert _predict(first).status_code == 200
    first.stop()

    # When a replica sharing that cache starts while the database is unreachable
    proxy.down()
    second = through_proxy(name="second", cache=cache)

    # Then it answers predictions from the last known version, and health says so
    answer = _predict(second)
    assert (answer.status_code, answer.json()["version"]) == (200, "1.0.0"), answer.text
    v2 = _v2_infer(second)  # the Open Inference Protocol too: the signature comes from the predictor then
    assert (v2.status_code, v2.json()["model_version"]) == (200, "1.0.0"), v2.text
    v2_ready = _get(second, "/v2/health/ready")  # and its readiness is /readyz's
    assert (v2_ready.status_code, v2_ready.json()) == (200, {"ready": True})
    health, ready = _get(second, "/healthz"), _get(second, "/readyz")
    assert (health.status_code, health.json()["registry"], health.json()["source"]) == (
        503,
        "unreachable",
        "last_known_pointer",
    )
    assert (ready.status_code, ready.json()["status"], ready.json()["models"]["digit_classifier"]["source"]) == (
        200,
        "serving_last_known",
        "last_known_pointer",
    )

    # When the database comes back, then the listener resyncs and health turns good without a restart
    proxy.up()
    wait_until(lambda: _get(second, "/healthz").status_code == 200, timeout=30, what="/healthz 200 again")
    assert _get(second, "/readyz").json()["status"] == "ready"
