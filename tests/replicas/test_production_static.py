"""The production build: a plain `collectstatic`, then gunicorn with production settings serves the admin and the
offline API docs (Swagger UI and ReDoc from drf-spectacular-sidecar), static files included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.servers.gunicorn import REPO

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["production", "development"])
def collected(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A plain collectstatic, run in either environment (`make run` collects in development)."""
    root = tmp_path / "static"
    # The test database may be SQLite and the store is local: allowed here, as production refuses both otherwise.
    env = {
        **os.environ,
        "ATLAS_ENV": request.param,
        "SECRET_KEY": "build-secret",
        "ATLAS_STATIC_ROOT": str(root),
        "ATLAS_ALLOW_EPHEMERAL": "1",
    }
    env.pop("DEBUG", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True
    )
    return root


def test_production_admin_and_docs_answer_after_a_plain_collectstatic(collected, start_replica):
    replica = start_replica(
        workers=1,
        env={
            "ATLAS_ENV": "production",
            "DEBUG": "0",
            "ATLAS_STATIC_ROOT": str(collected),
            "SECURE_COOKIES": "0",
            "ATLAS_ALLOW_EPHEMERAL": "1",
        },
    )

    login = requests.get(f"{replica.url}/admin/login/", timeout=30)
    css = requests.get(f"{replica.url}/static/admin/css/base.css", timeout=30)
    docs = requests.get(f"{replica.url}/docs", timeout=30)
    redoc = requests.get(f"{replica.url}/redoc", timeout=30)
    swagger_js = requests.get(
        f"{replica.url}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", timeout=30
    )
    redoc_js = requests.get(
        f"{replica.url}/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js", timeout=30
    )

    assert [r.status_code for r in (login, css, docs, redoc, swagger_js, redoc_js)] == [200] * 6
    assert "/static/admin/css/base.css" in login.text
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower() and "cdn" not in redoc.text.lower()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc.text
