"""What a process does once when it starts Django, which the settings only describe (atlas/settings.py
computes values and touches nothing): run by AtlasConfig.ready (atlas/apps.py), the first app's ready, so it
happens on every start, whatever the start (gunicorn, granian, runserver, any manage.py command, the tests),
and before anything imports prometheus_client.

- The embedded SQLite database's folder is created.
- prometheus-client's multiprocess folder is chosen, created and exported as PROMETHEUS_MULTIPROC_DIR, which
  prometheus-client reads from the environment (when it is imported and when a worker opens its files).
  Unless the operator named one in PROMETHEUS_MULTIPROC_DIR, it is one folder per running server, named
  `<pid>-<start time>` of the server process (the parent of this worker: gunicorn's or granian's master,
  runserver's reloader), so that a restart starts from zero and /metrics can sweep the folders of stopped
  servers. A folder Atlas chose holds a marker file, so that a server started from this process (by a test or
  a benchmark), which inherits the variable, knows it for another server's folder and chooses its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

PER_SERVER_MARKER = ".atlas-per-server"


@dataclass(frozen=True)
class MetricsFolder:
    path: Path
    per_server: bool  # chosen by Atlas (one per running server, swept when stopped), not named by the operator


_metrics: MetricsFolder | None = None


def prepare() -> None:
    """Create the folders this process needs and export the metrics folder (idempotent)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and str(database["NAME"]) != ":memory:":
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    folder = metrics_folder()
    folder.path.mkdir(parents=True, exist_ok=True)
    if folder.per_server:
        (folder.path / PER_SERVER_MARKER).touch()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.path)


def metrics_folder() -> MetricsFolder:
    """This process's prometheus-client folder, chosen once."""
    global _metrics
    if _metrics is None:
        given = settings.PROMETHEUS_MULTIPROC_DIR
        if given and not (Path(given) / PER_SERVER_MARKER).exists():
            _metrics = MetricsFolder(Path(given), per_server=False)
        else:
            _metrics = MetricsFolder(Path(settings.METRICS_ROOT) / server_instance(), per_server=True)
    return _metrics


def server_instance() -> str:
    """`<pid>-<start time>` of this process's parent: the same for every worker of one server, different
    after a restart."""
    parent = os.getppid()
    return f"{parent}-{process_start(parent) or '0'}"


def process_start(pid: int) -> str | None:
    """The start time of process `pid` (field 22 of /proc/<pid>/stat), None when it is not running."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None
