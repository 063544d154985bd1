"""The playground in a real browser: drop a demo image, see the demo detector's boxes drawn on it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from inference.management.commands import seed_demo

pytestmark = pytest.mark.django_db(transaction=True)

IMAGE = Path(__file__).resolve().parents[2] / "inference" / "data" / "shapes-demo-1.jpg"


def test_dropping_a_demo_image_draws_the_detectors_boxes(
    start_replica, browser_page, screenshot_dir, collected_static, monkeypatch
):
    # Given the demo detector seed_demo makes active, served by one gunicorn worker
    monkeypatch.setattr(seed_demo, "DEMO_BUILDERS", ["inference.demo.shapes.build"])
    call_command("seed_demo", stdout=io.StringIO())
    replica = start_replica(
        workers=1, env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "ATLAS_STATIC_ROOT": str(collected_static)}
    )

    # When a visitor drops the first demo image on the playground
    page = browser_page
    page.goto(f"{replica.url}/")
    page.set_input_files("#image-file", str(IMAGE))

    # Then its four shapes are boxed, and the answer names the model and version
    page.wait_for_function("Number(document.getElementById('image-canvas').dataset.boxes || 0) > 0")
    assert page.locator("#image-canvas").get_attribute("data-boxes") == "4"
    assert page.locator("#image-result").text_content() == "4 box(es) — visual_detector 1.1.0-shapes"
    page.locator("#image-canvas").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "playground-detect.png"), full_page=True)
