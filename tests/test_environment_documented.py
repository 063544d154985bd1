"""Every environment variable the code reads is documented in docs/OPERATIONS.md.

"The code": the Python files of the service (atlas/, inference/, models_registry/, vocabulary/, manage.py,
the root gunicorn.conf.py), of the benchmarks (bench/), and the Procfile; not the test suite. A variable
counts as read when it appears as a literal in os.environ[...], os.environ.get/setdefault/pop(...),
os.getenv(...) or the settings' _env_bool/_env_list/_env_path(...), or as `${NAME` in the Procfile;
documented means it appears in backquotes in OPERATIONS.md.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = ["atlas", "inference", "models_registry", "vocabulary", "bench", "manage.py", "gunicorn.conf.py"]
READ = re.compile(
    r"""(?:os\.environ(?:\.get|\.setdefault|\.pop)?\(?\[?|getenv\(|_env_(?:bool|list|path)\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)


SHELL = ["Procfile"]
SHELL_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def variables_in_code() -> set[str]:
    files = []
    for entry in CODE:
        path = REPO / entry
        # bench/.work holds the benchmarks' own virtualenvs (MLServer's), not code of the service
        files += sorted(f for f in path.rglob("*.py") if ".work" not in f.parts) if path.is_dir() else [path]
    shell = {name for entry in SHELL for name in SHELL_READ.findall((REPO / entry).read_text())}
    return shell | {name for file in files for name in READ.findall(file.read_text())}


def test_the_scan_finds_the_variables_named_in_the_issue():
    assert {
        "SECURE_COOKIES",
        "ACCESS_LOG",
        "ATLAS_SERVE_MODELS",
        "ATLAS_ALLOW_EPHEMERAL",
        "WEB_CONCURRENCY",
        "HOST",
    } <= variables_in_code()


def test_every_variable_read_by_the_code_is_documented_in_operations_md():
    documented = (REPO / "docs" / "OPERATIONS.md").read_text()

    assert sorted(name for name in variables_in_code() if f"`{name}`" not in documented) == []
