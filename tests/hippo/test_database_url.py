"""DATABASE_URL in the old service's documented form: `postgresql+psycopg://...?sslmode=require`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.servers.gunicorn import REPO

SHOW = (
    "import django; django.setup(); from django.conf import settings; import json; "
    "d = settings.DATABASES['default']; print(json.dumps([d['ENGINE'], d['NAME'], d['HOST'], d['OPTIONS']]))"
)


def settings_for(url: str) -> list:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "atlas.settings", "SECRET_KEY": "x" * 50}
    out = subprocess.run([sys.executable, "-c", SHOW], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_postgresql_psycopg_url_with_sslmode_require_is_read_as_postgresql():
    engine, name, host, options = settings_for(
        "postgresql+psycopg://u:p@db.example:5432/hippo?sslmode=require&channel_binding=require"
    )

    assert (engine, name, host) == ("django.db.backends.postgresql", "hippo", "db.example")
    assert (options["sslmode"], options["channel_binding"]) == ("require", "require")
