"""The playground in a real browser: draw a digit on the canvas, get the prediction from the live service."""

from __future__ import annotations

import pytest
from django.conf import settings

from inference.training.digits import train_digit_classifier
from inference.training.mlp import TrainConfig
from models_registry import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_drawing_a_digit_shows_the_prediction_bars_and_heat_maps(
    start_replica, browser_page, screenshot_dir, collected_static, tmp_path
):
    # Given a digit network active in the registry and one gunicorn worker serving it
    run = train_digit_classifier(dest=tmp_path / "digit_classifier.npz", config=TrainConfig())
    version = services.model_version_register(
        model_name="digit_classifier", version="1.0.0", source=run.path, runtime="numpy_mlp", actor="tester"
    )
    services.model_version_promote(version=version, actor="tester")
    replica = start_replica(
        workers=1, env={"MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR), "ATLAS_STATIC_ROOT": str(collected_static)}
    )

    # When a visitor draws a "1" on the canvas
    page = browser_page
    page.goto(f"{replica.url}/")
    box = page.locator("#pad").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(box["x"] + 140, box["y"] + 40 + step * 10)
    page.mouse.up()

    # Then the prediction names the model and version, with ten bars and one heat map per layer
    result = page.locator("#digit-result")
    page.wait_for_function("document.getElementById('digit-result').textContent.length > 0")
    assert result.text_content().endswith(" — digit_classifier 1.0.0"), result.text_content()
    assert page.locator("#bars .bar").count() == 10
    assert page.locator("#layers canvas").count() == len(run.metadata["training"]["sizes"])
    page.screenshot(path=str(screenshot_dir / "playground.png"), full_page=True)
