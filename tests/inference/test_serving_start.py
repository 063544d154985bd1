"""serving.ensure_started(): idempotent, and a forked child does not inherit a running listener."""

from __future__ import annotations

import os

import pytest

from inference import serving

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def started():
    serving.ensure_started()
    yield
    serving.stop()


def test_a_second_call_keeps_the_one_listener(started):
    first = serving._listener

    serving.ensure_started()

    assert first is not None and serving._listener is first and serving.is_started()


def test_a_forked_child_does_not_inherit_the_listener_as_running(started):
    pid = os.fork()
    if pid == 0:  # the child: nothing started here yet
        os._exit(0 if (serving._started_pid, serving._listener, serving.is_started()) == (None, None, False) else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
