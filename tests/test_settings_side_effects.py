"""atlas/settings.py computes values and touches nothing: importing it creates no folder, writes no
environment variable, opens no /proc file and patches no Django class (django-stubs-ext's patch is applied by
atlas/apps.py). What a start needs (the SQLite folder, prometheus-client's
folder and its variable) happens in AtlasConfig.ready (atlas/startup.py), on every django.setup()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

IMPORT_SETTINGS = """
import json, os, sys
opened = []
def audit(event, args):
    if event == "open" and args and isinstance(args[0], str):
        opened.append(args[0])
sys.addaudithook(audit)
before = dict(os.environ)
import atlas.settings
after = dict(os.environ)
from django.core.paginator import Paginator
print(json.dumps({"changed": sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)),
                  "proc": sorted(p for p in opened if p.startswith("/proc/")),
                  "patched": hasattr(Paginator, "__class_getitem__")}))
"""

SETUP_DJANGO = """
import json, os, django
django.setup()
from atlas import startup
folder = startup.metrics_folder()
print(json.dumps({"exported": os.environ.get("PROMETHEUS_MULTIPROC_DIR"), "folder": str(folder.path),
                  "per_server": folder.per_server}))
"""


def _run(code: str, var: Path, **env: str) -> dict:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR"}},
        "DJANGO_SETTINGS_MODULE": "atlas.settings",
        "SECRET_KEY": "side-effects-test",
        "ATLAS_ENV": "test",
        "DEBUG": "0",
        "ATLAS_VAR_DIR": str(var),
        "PYTHONPATH": str(REPO),
        **env,
    }
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_settings_creates_no_folder_writes_no_variable_and_reads_no_proc_file(tmp_path):
    var = tmp_path / "var"

    seen = _run(IMPORT_SETTINGS, var)

    assert (seen, var.exists()) == ({"changed": [], "proc": [], "patched": False}, False)


def test_django_setup_creates_the_sqlite_folder_and_exports_a_per_server_metrics_folder(tmp_path):
    var = tmp_path / "var"

    seen = _run(SETUP_DJANGO, var)

    folder = Path(seen["folder"])
    assert (var / "atlas.sqlite3").parent.is_dir()
    assert (seen["exported"], folder.parent, seen["per_server"]) == (str(folder), var / "metrics", True)
    assert folder.is_dir() and (folder / ".atlas-per-server").is_file()


def test_a_server_started_from_a_started_process_chooses_its_own_metrics_folder(tmp_path):
    # Given the folder a started process chose, inherited through the environment by a process it starts
    parent = _run(SETUP_DJANGO, tmp_path / "parent")

    # When that child starts Django with its own var folder, then it uses a folder of its own
    child = _run(SETUP_DJANGO, tmp_path / "child", PROMETHEUS_MULTIPROC_DIR=parent["exported"])

    assert (Path(child["folder"]).parent, child["per_server"]) == (tmp_path / "child" / "metrics", True)


def test_a_metrics_folder_named_by_the_operator_is_used_as_it_is(tmp_path):
    given = tmp_path / "prometheus"

    seen = _run(SETUP_DJANGO, tmp_path / "var", PROMETHEUS_MULTIPROC_DIR=str(given))

    assert (seen["exported"], seen["folder"], seen["per_server"]) == (str(given), str(given), False)
    assert given.is_dir() and not (given / ".atlas-per-server").exists()
