"""Playwright (Python) driving Debian's Chromium against a live gunicorn. No browser is downloaded:
`scripts/ensure_chromium.sh` (run by `make test` and `.ci/run`) installs /usr/bin/chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (make test does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own database calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        yield page
        browser.close()
        # While Playwright's loop runs in this thread, Django keeps this thread's connections apart (asgiref's
        # Local, per running loop): close the ones the test opened here, or the test database cannot be dropped.
        from django.db import connections

        connections.close_all()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """docs/img when ATLAS_UPDATE_SCREENSHOTS=1 (to refresh the README's pictures), else a scratch folder."""
    return REPO / "docs" / "img" if os.environ.get("ATLAS_UPDATE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The static files collected once per session, as a build would (gunicorn serves them with DEBUG off)."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "ATLAS_STATIC_ROOT": str(root), "SECRET_KEY": "build-secret"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True
    )
    return root
