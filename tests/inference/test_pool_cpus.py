"""The slow pool's CPUs (inference/pool_cpus.py), as scripts/serve chooses them before it starts the pool."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inference import pool_cpus

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("usable", "expected"),
    [
        ({0}, []),  # one CPU: nothing to keep free
        ({0, 1}, [1]),
        ({0, 1, 2, 3}, [3]),
        (set(range(8)), [6, 7]),
        ({4, 5, 9}, [9]),  # a container's cpuset
    ],
)
def test_auto_takes_the_last_quarter_of_the_usable_cpus_and_at_least_one(usable, expected):
    assert pool_cpus.choose("auto", usable) == expected


def test_an_empty_setting_is_auto():
    assert pool_cpus.choose("", {0, 1}) == [1]


def test_none_leaves_the_pool_unpinned():
    assert pool_cpus.choose("none", {0, 1}) == []


def test_a_list_is_taken_as_written():
    assert pool_cpus.choose("0,2-3", {0, 1, 2, 3}) == [0, 2, 3]


def test_a_cpu_this_process_may_not_use_is_refused():
    with pytest.raises(ValueError, match=r"^CPU 2, 5 is not one this process may use \(0-1\)$"):
        pool_cpus.choose("2,5", {0, 1})


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("x", "'x' is not a CPU number or range"),
        ("3-1", "'3-1' is a range that runs backwards"),
        ("1,", "'' is not a CPU number or range"),
    ],
)
def test_a_setting_that_is_not_a_cpu_list_is_refused(setting, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        pool_cpus.choose(setting, {0, 1, 2, 3})


@pytest.mark.parametrize(("cpus", "written"), [([1], "1"), ([0, 2, 3, 4], "0,2-4"), ([], ""), ([5, 7], "5,7")])
def test_the_list_is_written_as_taskset_reads_it(cpus, written):
    assert pool_cpus.format_list(cpus) == written


def test_the_command_prints_the_list_for_taskset():
    done = subprocess.run(
        [sys.executable, "-m", "inference.pool_cpus", "auto"], cwd=REPO, capture_output=True, text=True, check=True
    )

    assert done.stdout == pool_cpus.format_list(pool_cpus.choose("auto", set(os.sched_getaffinity(0)))) + "\n"


def test_scripts_serve_refuses_to_start_with_a_bad_cpu_list():
    held = socket.socket()  # were a server to start after all, it could not take this port
    held.bind(("127.0.0.1", 0))
    env = {
        **os.environ,
        "ATLAS_SLOW_POOL_CPUS": "9999",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    for name in ("ATLAS_SERVER", "ATLAS_SLOW_POOL_WORKERS"):  # granian with its pool, which is what checks the list
        env.pop(name, None)
    env |= {"HOST": "127.0.0.1", "PORT": str(held.getsockname()[1])}

    with held:
        done = subprocess.run([str(REPO / "scripts" / "serve")], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 2
    assert done.stderr.startswith("ATLAS_SLOW_POOL_CPUS='9999': CPU 9999 is not one this process may use")
