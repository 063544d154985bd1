"""The slow lane: a runtime's slow methods run on a low-priority thread of their own; the rest is untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from inference import slow_lane


class Recorder:
    """A predictor that notes which thread (and at which priority) ran each call."""

    levels = ("low", "high")

    def detect(self, image: str) -> dict:
        return {"image": image, "thread": threading.current_thread().name, "nice": _nice()}

    def threat_analysis(self, detections: list) -> dict:
        return {"thread": threading.current_thread().name}

    def fail(self) -> None:
        raise ValueError("broken input")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_a_slow_method_runs_on_the_lane_at_the_lane_priority(settings):
    settings.ATLAS_SLOW_LANE_NICE = 10
    predictor = slow_lane.SlowPredictor(Recorder(), ("detect",))

    answer = predictor.detect("photo")

    assert answer["image"] == "photo"
    assert answer["thread"].startswith("atlas-slow-lane")
    assert answer["nice"] == max(_nice(), 10)  # lowered to 10 (never raised: a niced caller stays as it is)


def test_other_attributes_are_the_predictors_own(settings):
    predictor = slow_lane.SlowPredictor(Recorder(), ("detect",))

    assert predictor.threat_analysis([])["thread"] == threading.current_thread().name
    assert predictor.levels == ("low", "high")


def test_an_exception_on_the_lane_reaches_the_caller():
    predictor = slow_lane.SlowPredictor(Recorder(), ("fail",))

    with pytest.raises(ValueError, match="broken input"):
        predictor.fail()


def test_the_torch_runtimes_name_their_slow_methods_and_the_others_none():
    assert slow_lane.slow_methods("yolo") == ("detect",)
    assert slow_lane.slow_methods("audio_mlp") == ("classify",)
    assert slow_lane.slow_methods("numpy_mlp") == ()
    assert slow_lane.slow_methods("threat_rules") == ()


def test_a_fast_runtimes_predictor_is_not_wrapped():
    predictor = Recorder()

    assert slow_lane.wrap("numpy_mlp", predictor) is predictor
    assert isinstance(slow_lane.wrap("yolo", predictor), slow_lane.SlowPredictor)


def test_a_forked_child_starts_its_own_lane():
    slow_lane.run(lambda: None)  # the parent's lane exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a lane of its own answers (the parent's threads are not inherited)
        try:
            name = slow_lane.run(lambda: threading.current_thread().name)
            os.write(write, name.encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read, 200).decode()
    os.close(read)

    assert os.waitstatus_to_exitcode(status) == 0
    assert answer.startswith("atlas-slow-lane")


@pytest.fixture
def fresh_lane():
    """A lane started by the test (the process's lane is started once, with the settings of that moment),
    and Python's GIL switch interval put back afterwards."""
    import sys

    interval = sys.getswitchinterval()
    if slow_lane._executor is not None:
        slow_lane._executor.shutdown(wait=True)
    slow_lane._forget_after_fork()
    yield
    if slow_lane._executor is not None:
        slow_lane._executor.shutdown(wait=True)
    slow_lane._forget_after_fork()
    sys.setswitchinterval(interval)


def test_the_lane_runs_in_the_idle_scheduling_class_and_shortens_the_gil_interval(settings, fresh_lane):
    import sys

    settings.ATLAS_SLOW_LANE_IDLE = True
    settings.ATLAS_GIL_SWITCH_MS = 1
    policy = slow_lane.run(lambda: os.sched_getscheduler(0))  # 0: the calling thread (Linux)

    assert policy == os.SCHED_IDLE
    assert sys.getswitchinterval() == pytest.approx(0.001)


def test_naming_a_runtimes_slow_methods_imports_nothing_of_the_runtime():
    """A web worker asks this of every model it leaves to the slow pool: torch must stay out of it."""
    code = (
        "import sys, django; django.setup(); from inference import slow_lane; "
        "print(slow_lane.slow_methods('audio_mlp'), slow_lane.slow_methods('yolo'), "
        "sorted(m for m in ('torch', 'ultralytics', 'inference.runtimes.audio_mlp') if m in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "atlas.settings_test"}
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout

    assert output.strip() == "('classify',) ('detect',) []"
