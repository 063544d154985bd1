"""Issue 28: dynamic batching of detections (inference/batching.py) keeps every guarantee of one call per
request: its own answer, its own error, never another version's batch, and the same answers as alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.batching import DynamicBatcher
from inference.demo import shapes
from inference.runtimes import yolo
from tests.waiting import wait_until

DATA = Path(__file__).resolve().parents[2] / "inference" / "data"
DEMO_IMAGES = sorted(DATA.glob("shapes-demo-*.jpg"))


class Model:
    """A batch function whose first call can be held, so that requests queue behind it; it records batches."""

    def __init__(self, answer=lambda item: item * 10) -> None:
        self.answer = answer
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.running = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.running.set()
        self.release.wait(timeout=30)
        return [self.answer(item) for item in items]


def submit_in_threads(batcher: DynamicBatcher, items: list[int]) -> tuple[list[threading.Thread], dict]:
    answers: dict[int, object] = {}

    def call(item: int) -> None:
        try:
            answers[item] = batcher.submit(item)
        except Exception as exc:  # noqa: BLE001 -- the test reads each request's own outcome
            answers[item] = exc

    threads = [threading.Thread(target=call, args=(item,), daemon=True) for item in items]
    for thread in threads:
        thread.start()
    return threads, answers


def queue_behind_a_running_batch(model: Model, batcher: DynamicBatcher, items: list[int]) -> dict:
    """Item 0 runs alone and is held; `items` queue meanwhile; then the model is let go."""
    first, answers = submit_in_threads(batcher, [0])
    model.running.wait(timeout=30)
    threads, more = submit_in_threads(batcher, items)
    wait_until(lambda: len(batcher._queue) == len(items), timeout=30, what="requests queued behind the batch")
    model.release.set()
    for thread in first + threads:
        thread.join(timeout=30)
    return answers | more


def test_requests_waiting_while_the_model_runs_go_in_one_batch_and_each_gets_its_own_answer():
    model = Model()
    batcher = DynamicBatcher(model, max_batch=8, window_s=0)

    answers = queue_behind_a_running_batch(model, batcher, [1, 2, 3])

    assert [sorted(batch) for batch in model.batches] == [[0], [1, 2, 3]]
    assert answers == {0: 0, 1: 10, 2: 20, 3: 30}


def test_a_batch_holds_at_most_max_batch_requests():
    model = Model()
    batcher = DynamicBatcher(model, max_batch=2, window_s=0)

    answers = queue_behind_a_running_batch(model, batcher, [1, 2, 3, 4, 5])

    assert [len(batch) for batch in model.batches] == [1, 2, 2, 1]
    assert answers == {i: i * 10 for i in range(6)}


def test_one_requests_bad_input_fails_only_that_request():
    def answer(item: int) -> int:
        if item == 2:
            raise ValueError("item 2 is bad")
        return item * 10

    model = Model(answer)
    batcher = DynamicBatcher(model, max_batch=8, window_s=0)

    answers = queue_behind_a_running_batch(model, batcher, [1, 2, 3])

    assert {k: v for k, v in answers.items() if k != 2} == {0: 0, 1: 10, 3: 30}
    assert isinstance(answers[2], ValueError) and str(answers[2]) == "item 2 is bad"


def test_a_failing_model_answers_every_request_of_the_batch_with_its_error():
    def answer(item: int) -> int:
        raise RuntimeError(f"the model failed on {item}")

    model = Model(answer)
    batcher = DynamicBatcher(model, max_batch=8, window_s=0)

    answers = queue_behind_a_running_batch(model, batcher, [1, 2])

    assert {k: (type(v), str(v)) for k, v in answers.items()} == {
        i: (RuntimeError, f"the model failed on {i}") for i in (0, 1, 2)
    }


def test_an_item_the_model_answers_with_an_exception_gets_that_exception():
    model = Model(lambda item: KeyError(item) if item == 1 else item)
    batcher = DynamicBatcher(model, max_batch=8, window_s=0)

    answers = queue_behind_a_running_batch(model, batcher, [1, 2])

    assert (answers[0], type(answers[1]), answers[2]) == (0, KeyError, 2)


def test_after_a_batch_fails_the_batcher_serves_the_next_request():
    calls = []

    def flaky(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("once")
        return [item + 1 for item in items]

    batcher = DynamicBatcher(flaky, max_batch=4, window_s=0)

    with pytest.raises(RuntimeError, match="once"):
        batcher.submit(1)
    assert batcher.submit(5) == 6


def test_a_lone_request_waits_for_no_one_when_the_window_is_zero():
    batcher = DynamicBatcher(lambda items: [i * 2 for i in items], max_batch=4, window_s=0)

    assert [batcher.submit(i) for i in range(3)] == [0, 2, 4]
    assert batcher.batch_sizes == [1, 1, 1]


def test_a_batch_of_max_batch_runs_without_waiting_out_the_window():
    model = Model()
    model.release.set()
    batcher = DynamicBatcher(model, max_batch=3, window_s=3600)  # an hour: only a full batch ends the wait

    threads, answers = submit_in_threads(batcher, [1, 2, 3])
    for thread in threads:
        thread.join(timeout=60)

    assert (sorted(model.batches[0]), answers) == ([1, 2, 3], {1: 10, 2: 20, 3: 30})


def test_a_batch_holds_only_items_of_the_oldest_items_key_and_the_others_form_the_next_batches():
    model = Model()
    batcher = DynamicBatcher(model, max_batch=8, window_s=0, key=lambda item: item % 2)

    answers = queue_behind_a_running_batch(model, batcher, [1, 2, 3, 4])

    assert [sorted(batch) for batch in model.batches] == [[0], [1, 3], [2, 4]]
    assert answers == {i: i * 10 for i in range(5)}


def test_requests_whose_items_left_the_queue_unanswered_get_an_error_instead_of_waiting_forever():
    model = Model()
    batcher = DynamicBatcher(model, max_batch=8, window_s=0)
    first, answers = submit_in_threads(batcher, [0])
    model.running.wait(timeout=30)
    threads, more = submit_in_threads(batcher, [1, 2])
    wait_until(lambda: len(batcher._queue) == 2, timeout=30, what="requests queued behind the batch")

    with batcher._cond:
        batcher._queue.clear()  # as an exception between taking items from the queue and running them would
    model.release.set()
    for thread in first + threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in first + threads)
    assert answers[0] == 0
    assert {k: (type(v), str(v)) for k, v in more.items()} == {
        i: (RuntimeError, "this request left the batch queue unanswered") for i in (1, 2)
    }


# --- the yolo runtime's batcher, on the trained demo detector and its demo images ----------------------------


@pytest.fixture(scope="module")
def demo_detector(tmp_path_factory):
    return shapes.build(tmp_path_factory.mktemp("shapes"))


def demo_images() -> list[Image.Image]:
    return [Image.open(path).convert("RGB") for path in DEMO_IMAGES]


def test_a_batched_forward_pass_answers_each_image_as_it_would_alone(demo_detector, settings):
    settings.ATLAS_DETECT_MAX_BATCH = 1
    alone = yolo.load(demo_detector.path, metadata=demo_detector.metadata)
    images = [np.asarray(image) for image in demo_images()]

    batched = alone.backend.raw_batch(images, min_confidence=0.25, iou=0.45)
    singles = [alone.backend.raw(image, min_confidence=0.25, iou=0.45) for image in images]

    assert alone.batcher is None
    for (boxes, scores, classes), (boxes_1, scores_1, classes_1) in zip(batched, singles, strict=True):
        assert classes.tolist() == classes_1.tolist()
        np.testing.assert_allclose(boxes, boxes_1, atol=0.5)
        np.testing.assert_allclose(scores, scores_1, atol=1e-3)


def test_each_loaded_version_batches_only_its_own_requests(demo_detector, settings):
    settings.ATLAS_DETECT_MAX_BATCH = 4
    old = yolo.load(demo_detector.path, metadata=demo_detector.metadata)
    new = yolo.load(demo_detector.path, metadata=demo_detector.metadata | {"class_names": ["a", "b", "c"]})
    image = demo_images()[0]
    answers: dict[str, list] = {"old": [], "new": []}

    def detect(name: str, predictor: yolo.VisualPredictor) -> None:
        answers[name].append(predictor.detect(image))

    threads = [
        threading.Thread(target=detect, args=(name, predictor)) for name, predictor in [("old", old), ("new", new)] * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert old.batcher is not new.batcher
    assert (sum(old.batcher.batch_sizes), sum(new.batcher.batch_sizes)) == (3, 3)
    assert {d["class"] for a in answers["old"] for d in a} <= {"circle", "square", "triangle"}
    assert {d["class"] for a in answers["new"] for d in a} <= {"a", "b", "c"}
    assert [len(a) for a in answers["old"]] == [len(a) for a in answers["new"]] != [0, 0, 0]


def test_images_of_different_sizes_batched_together_get_the_answers_they_get_alone(demo_detector, settings):
    settings.ATLAS_DETECT_MAX_BATCH = 4
    predictor = yolo.load(demo_detector.path, metadata=demo_detector.metadata)
    image = demo_images()[0]
    images = {"demo": image, "resized": image.resize((300, 400))}
    alone = {name: predictor.detect(img) for name, img in images.items()}
    assert predictor.batcher is not None and predictor.batcher.batch_sizes == [1, 1]
    answers: dict[str, list] = {}

    def detect(name: str, img: Image.Image) -> None:
        answers[name] = predictor.detect(img)

    with predictor.backend._lock:  # the first request's batch holds the model: the next two queue together
        threads = [threading.Thread(target=detect, args=("first", image))]
        threads[0].start()
        wait_until(lambda: predictor.batcher._leading and not predictor.batcher._queue, timeout=60, what="a batch")
        threads += [threading.Thread(target=detect, args=item) for item in images.items()]
        for thread in threads[1:]:
            thread.start()
        wait_until(lambda: len(predictor.batcher._queue) == 2, timeout=60, what="two requests queued")
    for thread in threads:
        thread.join(timeout=120)

    assert (answers["demo"], answers["resized"], answers["first"]) == (alone["demo"], alone["resized"], alone["demo"])
    assert predictor.batcher.batch_sizes == [1, 1, 1, 1, 1]
