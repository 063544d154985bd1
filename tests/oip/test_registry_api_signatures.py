"""The registry's REST API: a declared signature at upload, and a promotion forced past the signature gate."""

from __future__ import annotations

import io
import json

import joblib
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from models_registry import services
from tests.oip.models import iris_pipeline, write_onnx

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(settings):
    settings.ADMIN_TOKEN = "tok"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer tok")
    return client


def test_an_upload_records_its_declared_signature(token_client):
    pickled = io.BytesIO()
    joblib.dump(iris_pipeline(), pickled)
    declared = {
        "inputs": [{"name": "rows", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}],
    }

    response = token_client.post(
        "/api/v1/registry/versions/",
        {
            "model": "iris-pk",
            "version": "1",
            "runtime": "sklearn",
            "file": SimpleUploadedFile("model.pkl", pickled.getvalue()),
            "io_signature": json.dumps(declared),
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["io_signature"] == declared


def test_a_promotion_is_refused_then_forced_past_the_signature_gate(token_client, tmp_path):
    first = services.model_version_register(
        model_name="iris", version="1", source=write_onnx(tmp_path / "1.onnx"), runtime="onnx"
    )
    services.model_version_promote(version=first, actor="t")
    wider = services.model_version_register(
        model_name="iris", version="2", source=write_onnx(tmp_path / "2.onnx", features=5)
    )
    url = f"/api/v1/registry/versions/{wider.pk}/promote/"

    refused = token_client.post(url, {}, format="json")
    forced = token_client.post(url, {"force_signature": True}, format="json")

    assert refused.status_code == 422
    assert "input X FP32 [-1, 4] became X FP32 [-1, 5]" in refused.json()["detail"]
    assert (forced.status_code, forced.json()["to_version"]) == (200, "2")
