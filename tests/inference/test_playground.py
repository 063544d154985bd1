"""`/`: browsers get the playground page (its scripts and styles from our static files); API clients get JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_the_playground_page(client):
    response = client.get("/", HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert '<canvas id="pad"' in page
    assert '<script src="/static/inference/playground.js">' in page
    assert "http://" not in page and "https://" not in page  # nothing from a CDN


@pytest.mark.parametrize("accept", ["", "application/json", "*/*", "application/json, text/html;q=0.5"])
def test_an_api_client_gets_json(client, accept):
    response = client.get("/", HTTP_ACCEPT=accept) if accept else client.get("/")

    assert response.status_code == 200
    assert response.json()["service"] == "Atlas Intelligence"  # the old service's info, which its clients read


def test_the_playground_script_calls_the_prediction_endpoints(client):
    from django.contrib.staticfiles import finders

    script = Path(finders.find("inference/playground.js")).read_text()

    for url in ('"/predict"', '"/activations"', '"/api/v1/detect"', '"/api/v1/audio/classify"'):
        assert url in script
