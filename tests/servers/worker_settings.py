"""Settings of a task worker started by the tests (tests/servers/task_worker.py): Atlas's own, with the
registry tests' JSON runtime added, as the test process adds it (tests/registry/conftest.py)."""

from atlas.settings import *  # noqa: F403
from atlas.settings import ATLAS_RUNTIMES

ATLAS_RUNTIMES = {**ATLAS_RUNTIMES, "json_answer": "tests.registry.json_runtime.load"}
