"""The database connection settings of issue 9, case 6: a dropped connection is replaced before the next
query (CONN_HEALTH_CHECKS), an unreachable database fails in seconds (connect_timeout), and the LISTEN
connection notices a silent drop in about a minute (TCP keepalives)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.servers.gunicorn import REPO

SHOW = (
    "import django; django.setup(); from django.conf import settings; import json; "
    "d = settings.DATABASES['default']; print(json.dumps([d['CONN_HEALTH_CHECKS'], d['OPTIONS']]))"
)


def settings_for(url: str, **env: str) -> list:
    environ = {
        **os.environ,
        **env,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "atlas.settings",
        "SECRET_KEY": "x" * 50,
    }
    command = [sys.executable, "-c", SHOW]
    out = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_postgresql_connection_is_health_checked_and_times_out_in_five_seconds():
    health_checks, options = settings_for("postgres://u:p@db.example:5432/atlas")

    assert (health_checks, options["connect_timeout"]) == (True, 5)


def test_the_database_urls_connect_timeout_wins():
    _, options = settings_for("postgres://u:p@db.example:5432/atlas?connect_timeout=2")

    assert int(options["connect_timeout"]) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN needs PostgreSQL")
@pytest.mark.django_db
def test_the_listen_connection_has_tcp_keepalives():
    from models_registry.listener import _listen_connection

    with _listen_connection() as conn:
        parameters = conn.info.get_parameters()

    assert {k: parameters[k] for k in ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")} == {
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
    }
