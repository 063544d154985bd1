"""Metrics add up over every gunicorn worker of a replica, and its log lines are JSON on request."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.waiting import wait_until

MODEL = "digit_classifier"
pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def predictions_counted(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "atlas_predictions_total" and sample.labels["version"] == "1.0.0"
    )


def test_every_workers_predictions_are_in_one_scrape(settings, start_replica, digits):
    replica = start_replica(workers=2, env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "ACCESS_LOG": "1"})
    sent = 0

    def predict(_):
        return requests.post(f"{replica.url}/predict", json={"pixels": [0.5] * 784}, timeout=10).status_code

    def both_workers_answered() -> bool:
        nonlocal sent
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert list(pool.map(predict, range(8))) == [200] * 8
        sent += 8
        log = replica.log_path.read_text()
        return len(set(re.findall(r"\[(\d+)\] atlas.requests: POST /predict 200 ", log))) == 2

    wait_until(both_workers_answered, timeout=60, interval=0, what="answers from both workers")

    # Each worker writes its sums at its listener's next tick (inference/metrics.py): within a poll interval,
    # whichever worker answers the scrape, it counts both workers' predictions
    wait_until(lambda: predictions_counted(replica.url) == sent, timeout=10, what="both workers' sums written")
    assert [predictions_counted(replica.url) for _ in range(4)] == [float(sent)] * 4


def test_json_log_lines_name_the_request_id_model_and_version(settings, start_replica, digits):
    replica = start_replica(
        workers=1,
        env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "LOG_FORMAT": "json", "ACCESS_LOG": "1"},
    )

    answer = requests.post(
        f"{replica.url}/predict", json={"pixels": [0.5] * 784}, headers={"X-Request-ID": "trace-42"}, timeout=10
    )

    assert answer.headers["X-Request-ID"] == "trace-42"

    def request_line():
        for line in replica.log_path.read_text().splitlines():
            if line.startswith("{") and '"trace-42"' in line:
                return json.loads(line)
        return None

    entry = wait_until(request_line, timeout=10, what="the request's log line")
    assert {k: entry[k] for k in ("logger", "request_id", "method", "path", "status", "model", "version")} == {
        "logger": "atlas.requests",
        "request_id": "trace-42",
        "method": "POST",
        "path": "/predict",
        "status": 200,
        "model": MODEL,
        "version": "1.0.0",
    }
