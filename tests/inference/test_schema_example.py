"""The API docs: /predict's example body is a real MNIST digit, and the docs pages use no CDN."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.digits_data import bundled_digits

pytestmark = pytest.mark.django_db


def test_the_predict_example_is_the_first_bundled_mnist_digit(client):
    response = client.get("/api/schema/", {"format": "json"})

    schema = json.loads(response.content)
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    example = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["example"]["pixels"]
    x, _ = bundled_digits()
    assert len(example) == 784
    np.testing.assert_allclose(example, x[0], atol=0.0005)
    assert sum(value > 0 for value in example) > 50  # a drawn digit, not a blank page


@pytest.mark.parametrize(
    ("path", "asset"),
    [
        ("/docs", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/redoc", "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_the_docs_pages_load_their_scripts_from_our_static_files(client, path, asset):
    response = client.get(path)

    assert response.status_code == 200
    assert asset in response.content.decode()
    assert "cdn.jsdelivr" not in response.content.decode()
