"""Issue 24, finding 3, under granian as the Procfile starts it: a worker with N slow slots given N+k
concurrent detections runs N of them and answers the other k with a 503 JSON and Retry-After within the
wait bound (atlas/admission.py), instead of queueing them; /predict keeps answering meanwhile."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from inference.demo import shapes
from models_registry import services
from tests.waiting import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

IMAGE = (Path(__file__).resolve().parents[2] / "inference" / "data" / "shapes-demo-1.jpg").read_bytes()
SLOTS, EXTRA, WAIT = 2, 3, 0.5


@pytest.fixture
def replica(settings, start_replica, digits, tmp_path):
    demo = shapes.build(tmp_path / "shapes")
    # the demo detector at 1600 px on one torch thread: a detection takes seconds here, far over the wait
    version = services.model_version_register(
        model_name="visual_detector",
        version="1.0.0-slow",
        source=demo.path,
        runtime="yolo",
        metadata={**demo.metadata, "imgsz": 1600},
        actor="t",
    )
    services.model_version_trust(version=version, actor="t")
    services.model_version_promote(version=version, actor="t")
    env = {
        "MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR),
        "ATLAS_SLOW_CONCURRENCY": str(SLOTS),
        "ATLAS_TORCH_THREADS": "1",
        "RATE_LIMIT_PER_MINUTE": "0",
    }
    started = start_replica(workers=1, env=env, settings={"ATLAS_SLOW_WAIT_SECONDS": WAIT})
    wait_until(lambda: requests.get(f"{started.url}/readyz", timeout=10).status_code == 200, timeout=120, what="ready")
    return started


def detect(url: str) -> tuple[int, dict, str | None, float]:
    started = time.monotonic()
    response = requests.post(f"{url}/api/v1/detect", data=IMAGE, headers={"Content-Type": "image/jpeg"}, timeout=60)
    return response.status_code, response.json(), response.headers.get("Retry-After"), time.monotonic() - started


def test_detections_over_the_slots_are_answered_503_at_once_and_predict_keeps_answering(replica):
    with ThreadPoolExecutor(max_workers=SLOTS + EXTRA) as pool:
        running = [pool.submit(detect, replica.url) for _ in range(SLOTS + EXTRA)]
        wait_until(lambda: sum(future.done() for future in running) >= EXTRA, timeout=30, what="the refusals")
        predicted = requests.post(f"{replica.url}/predict", json={"pixels": [0.5] * 784}, timeout=30)
        detections_still_running = sum(not future.done() for future in running)
        answers = [future.result() for future in running]

    refused = [answer for answer in answers if answer[0] == 503]
    assert sorted(answer[0] for answer in answers) == [200] * SLOTS + [503] * EXTRA
    assert {(body["error"], body["model"], retry_after) for _, body, retry_after, _ in refused} == {
        ("overloaded", "visual_detector", "1")
    }
    # every refusal came while the admitted detections still ran (an order, not a timing: the machine may be busy)
    assert max(seconds for *_, seconds in refused) < min(seconds for code, *_, seconds in answers if code == 200)
    assert (predicted.status_code, predicted.json()["model"]) == (200, "digit_classifier")
    assert detections_still_running >= 1  # /predict was answered while an admitted detection still ran
