"""GET /metrics: predictions per version, the registry's series, and the token that may guard it."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from models_registry import services
from tests.factories import write_digit_npz

pytestmark = pytest.mark.django_db


def samples(client, **headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_each_prediction_is_counted_under_the_version_that_answered(client, digits):
    before = samples(client)

    for _ in range(3):
        assert client.post("/predict", {"pixels": [0.5] * 784}, content_type="application/json").status_code == 200
    assert client.post("/predict", {"pixels": [2] * 784}, content_type="application/json").status_code >= 400

    after = samples(client)
    labels = {"model": "digit_classifier", "version": "1.0.0"}
    assert (
        value(after, "atlas_predictions_total", outcome="success", **labels)
        - value(before, "atlas_predictions_total", outcome="success", **labels)
        == 3
    )
    assert (
        value(after, "atlas_prediction_seconds_count", **labels)
        - value(before, "atlas_prediction_seconds_count", **labels)
        == 3
    )


def test_a_request_refused_before_any_model_is_used_counts_for_no_version(client, digits):
    before = samples(client)

    assert client.post("/predict", b"not json", content_type="application/json").status_code >= 400

    after = samples(client)
    assert {k: v for k, v in after.items() if k[0] == "atlas_predictions_total"} == {
        k: v for k, v in before.items() if k[0] == "atlas_predictions_total"
    }


def test_the_registry_series_name_the_active_version_and_every_activation(client, digits, tmp_path):
    v2 = services.model_version_register(
        model_name="digit_classifier", version="2.0.0", source=write_digit_npz(tmp_path / "e.npz", seed=2)
    )
    services.model_version_promote(version=v2, actor="tester")
    digits.model.refresh_from_db()
    services.model_rollback(model=digits.model, actor="tester")

    found = samples(client)

    assert value(found, "atlas_active_version_info", model="digit_classifier", version="1.0.0") == 1
    assert ("atlas_active_version_info", (("model", "digit_classifier"), ("version", "2.0.0"))) not in found
    assert value(found, "atlas_activations_total", model="digit_classifier", action="promote") == 2
    assert value(found, "atlas_activations_total", model="digit_classifier", action="rollback") == 1


def test_the_artifact_cache_counts_its_hits_and_misses(client, digits):
    from models_registry import artifact_cache

    before = samples(client)
    artifact_cache.clear()
    with services.model_version_file(version=digits):  # not in the cache: fetched
        pass
    with services.model_version_file(version=digits):  # now it is
        pass

    after = samples(client)
    assert (
        value(after, "atlas_artifact_cache_requests_total", result="miss")
        - value(before, "atlas_artifact_cache_requests_total", result="miss")
        == 1
    )
    assert (
        value(after, "atlas_artifact_cache_requests_total", result="hit")
        - value(before, "atlas_artifact_cache_requests_total", result="hit")
        == 1
    )
    assert value(after, "atlas_artifact_cache_bytes") == digits.size_bytes


def test_a_metrics_token_is_required_when_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200


def test_the_exposition_is_prometheus_text(client):
    response = client.get("/metrics")

    assert response["Content-Type"].startswith("text/plain; version=")
    assert re.search(r"^# TYPE atlas_predictions_total counter$", response.content.decode(), re.MULTILINE)


def test_folders_of_stopped_servers_are_swept_and_running_ones_kept():
    import os

    from atlas import startup
    from inference.metrics import sweep_dead_instances

    current = startup.metrics_folder().path
    parent = current.parent
    running = parent / f"{os.getpid()}-{startup.process_start(os.getpid())}"
    stopped = parent / "4194303-1"  # above any pid this kernel hands out
    reused = parent / f"{os.getpid()}-1"  # this pid, but a process that started at another time
    for folder in (running, stopped, reused):
        folder.mkdir(parents=True, exist_ok=True)

    removed = sweep_dead_instances()

    assert sorted(removed) == sorted([stopped.name, reused.name])
    assert running.is_dir() and current.is_dir()


def test_buffered_answers_are_written_as_prometheus_would_have_written_each(client, digits, monkeypatch):
    """The hot path adds an answer to this worker's sums; a flush writes them to the multiprocess files. What a
    scrape then reads is what one observe() per answer would have written: the count, the sum and each bucket."""
    from prometheus_client import CollectorRegistry, Histogram

    from inference import metrics

    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 3600.0)  # only the scrape flushes, however slow the machine
    metrics.flush()
    before = samples(client)
    latencies = [0.0004, 0.0005, 0.003, 0.07, 12.0]  # on a bucket's bound, inside, and past the last one
    for seconds in latencies:
        metrics.observe([("digit_classifier", "9.9.9", None)], status=200, seconds=seconds)
    labels = {"model": "digit_classifier", "version": "9.9.9"}
    assert metrics.pending_answers() == 5

    after = samples(client)  # GET /metrics flushes this process's sums first

    assert metrics.pending_answers() == 0
    reference = Histogram("reference_seconds", "", buckets=metrics.LATENCY_BUCKETS, registry=CollectorRegistry())
    for seconds in latencies:
        reference.observe(seconds)
    expected = {
        sample.labels["le"]: sample.value
        for family in reference.collect()
        for sample in family.samples
        if sample.name.endswith("_bucket")
    }
    got = {
        dict(key[1])["le"]: v - before.get(key, 0.0)
        for key, v in after.items()
        if key[0] == "atlas_prediction_seconds_bucket" and {k: x for k, x in key[1] if k != "le"} == labels
    }
    assert got == expected
    assert value(after, "atlas_prediction_seconds_count", **labels) == 5
    assert value(after, "atlas_prediction_seconds_sum", **labels) == pytest.approx(sum(latencies))
    assert value(after, "atlas_predictions_total", outcome="success", **labels) == 5


def test_an_answer_flushes_the_sums_once_they_are_older_than_the_flush_interval(monkeypatch):
    from inference import metrics

    metrics.flush()
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.0)  # every answer is due at once
    metrics.observe([("digit_classifier", "9.9.8", None)], status=200, seconds=0.001)

    assert metrics.pending_answers() == 0


def test_a_forked_child_starts_without_its_parents_sums(monkeypatch):
    """The parent writes its own sums: a child that inherited them would count the same answers twice."""
    import os

    from inference import metrics

    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 3600.0)
    metrics.observe([("digit_classifier", "9.9.7", None)], status=200, seconds=0.001)
    pid = os.fork()
    if pid == 0:  # the child: 0 if it holds no sums, 1 otherwise
        os._exit(0 if metrics.pending_answers() == 0 else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert metrics.pending_answers() == 1
    metrics.flush()
