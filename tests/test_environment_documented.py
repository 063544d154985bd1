"""Every environment variable the code reads is read in atlas/settings.py and documented in docs/OPERATIONS.md.

"The code": the Python files of the service (atlas/, inference/, models_registry/, vocabulary/, manage.py,
the root gunicorn.conf.py), of the benchmarks (bench/), and the Procfile; not the test suite. A variable
counts as read when a literal name is read from the environment: os.environ[...] (not an assignment to it),
os.environ.get/setdefault/pop(...), os.getenv(...), `"NAME" in os.environ`, or the settings' helpers
_env_bool/_env_list/_env_path(...); or `${NAME` in the Procfile. Writing a variable for a library that reads
it (ultralytics' YOLO_OFFLINE, prometheus-client's PROMETHEUS_MULTIPROC_DIR) is not a read. Documented means
it appears in backquotes in OPERATIONS.md.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = ["atlas", "inference", "models_registry", "vocabulary", "bench", "manage.py", "gunicorn.conf.py"]
SETTINGS = "atlas/settings.py"
SETTINGS_HELPERS = {"_env_bool", "_env_list", "_env_path"}

SHELL = ["Procfile"]
SHELL_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")

# Reads outside atlas/settings.py, each for a reason that makes it no Django setting: (file, variable).
OUTSIDE_SETTINGS = {
    # the entry points' defaults, read before any settings module is chosen (Django's own convention)
    ("manage.py", "DJANGO_SETTINGS_MODULE"),
    ("manage.py", "ATLAS_ENV"),  # the command line is a developer's tool: development unless told otherwise
    ("atlas/wsgi.py", "DJANGO_SETTINGS_MODULE"),
    ("bench/bare_wsgi.py", "DJANGO_SETTINGS_MODULE"),
    ("bench/input_memory.py", "DJANGO_SETTINGS_MODULE"),
    # the test settings' defaults, set before atlas.settings reads them
    ("atlas/settings_test.py", "SECRET_KEY"),
    ("atlas/settings_test.py", "ATLAS_ENV"),
    ("atlas/settings_test.py", "DEBUG"),
    ("atlas/settings_test.py", "ATLAS_VAR_DIR"),
    # gunicorn's configuration, read by gunicorn's master before Django exists (the Procfile's granian reads
    # the same names on its command line)
    ("atlas/gunicorn.conf.py", "HOST"),
    ("atlas/gunicorn.conf.py", "PORT"),
    ("atlas/gunicorn.conf.py", "WEB_CONCURRENCY"),
    ("atlas/gunicorn.conf.py", "LOG_LEVEL"),
    # the bare WSGI baseline of the benchmarks: a server process that must not use Atlas's settings for it
    ("bench/bare_wsgi.py", "BARE_MODEL_PATH"),
}


def _code_files() -> list[Path]:
    files: list[Path] = []
    for entry in CODE:
        path = REPO / entry
        # bench/.work holds the benchmarks' own virtualenvs (MLServer's), not code of the service
        files += sorted(f for f in path.rglob("*.py") if ".work" not in f.parts) if path.is_dir() else [path]
    return files


def _is_environ(node: ast.AST) -> bool:
    """os.environ (a bare `environ` is a WSGI request's, in this code)."""
    return isinstance(node, ast.Attribute) and node.attr == "environ" and getattr(node.value, "id", "") == "os"


def _name(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value):
        return node.value
    return None


def reads(source: str) -> Iterator[str]:
    """The names of the environment variables this Python source reads."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
            name = _name(node.slice)
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            environ_method = isinstance(function, ast.Attribute) and _is_environ(function.value)
            if (environ_method and called in {"get", "setdefault", "pop"}) or called in {"getenv", *SETTINGS_HELPERS}:
                name = _name(node.args[0])
            else:
                continue
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            name = _name(node.left) if _is_environ(node.comparators[0]) else None
        else:
            continue
        if name:
            yield name


def reads_by_file() -> dict[str, set[str]]:
    return {str(file.relative_to(REPO)): set(reads(file.read_text())) for file in _code_files()}


def variables_in_code() -> set[str]:
    shell = {name for entry in SHELL for name in SHELL_READ.findall((REPO / entry).read_text())}
    return shell | {name for names in reads_by_file().values() for name in names}


def test_the_scan_finds_the_variables_named_in_the_issue():
    assert {
        "SECURE_COOKIES",
        "ACCESS_LOG",
        "ATLAS_SERVE_MODELS",
        "ATLAS_ALLOW_EPHEMERAL",
        "WEB_CONCURRENCY",
        "HOST",
    } <= variables_in_code()


def test_the_scan_tells_reads_from_writes():
    source = (
        'import os\na = os.environ["READ_A"]\nos.environ["WRITTEN"] = "1"\n'
        'b = os.getenv("READ_B")\nc = os.environ.get("READ_C", "")\nd = "READ_D" in os.environ\n'
        'wsgi = environ.get("CONTENT_LENGTH")\n'
        'os.environ.setdefault("READ_E", "x")\nf = _env_bool("READ_F", False)\nos.environ.update(WRITTEN_TOO="1")\n'
        'env = {**os.environ, "PASSED_ON": "1"}\n'
    )

    assert sorted(reads(source)) == ["READ_A", "READ_B", "READ_C", "READ_D", "READ_E", "READ_F"]


def test_every_variable_is_read_in_the_settings_or_for_a_listed_reason():
    outside = {
        (file, name) for file, names in reads_by_file().items() if file != SETTINGS for name in names
    } - OUTSIDE_SETTINGS

    assert sorted(outside) == []


def test_the_list_of_reads_outside_the_settings_holds_no_stale_entry():
    found = reads_by_file()

    assert sorted((file, name) for file, name in OUTSIDE_SETTINGS if name not in found.get(file, set())) == []


def test_every_variable_read_by_the_code_is_documented_in_operations_md():
    documented = (REPO / "docs" / "OPERATIONS.md").read_text()

    assert sorted(name for name in variables_in_code() if f"`{name}`" not in documented) == []


def test_the_code_reads_at_most_60_variables():
    # issue 24: a new one needs a strong reason; a tuning knob is a Django setting (docs/OPERATIONS.md)
    assert len(variables_in_code()) <= 60
