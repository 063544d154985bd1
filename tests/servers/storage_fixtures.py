"""Session-scoped artifact-store servers and per-test settings that point the stores at them.

seaweedfs       S3Endpoint(endpoint_url, access_key, secret_key, region) of one `weed mini`
s3_settings     settings with MODEL_STORAGE_TYPE=s3, S3_* set and a fresh, empty bucket
hub_server      HubEndpoint(url, token) of the Hub-compatible server
hf_settings     settings with HF_ENDPOINT, HUGGINGFACE_TOKEN, a fresh HF_MODEL_REPO and HF_CACHE_DIR
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .hub_server import RunningHub
from .seaweedfs import S3Endpoint, SeaweedFS


@dataclass(frozen=True)
class HubEndpoint:
    url: str
    token: str


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweedfs(seaweedfs_server: SeaweedFS) -> S3Endpoint:
    return seaweedfs_server.endpoint


@pytest.fixture
def s3_settings(settings, seaweedfs: S3Endpoint):
    from models_registry.storage.s3 import S3Store

    settings.MODEL_STORAGE_TYPE = "s3"
    settings.S3_ENDPOINT_URL = seaweedfs.endpoint_url
    settings.S3_REGION = seaweedfs.region
    settings.S3_ACCESS_KEY = seaweedfs.access_key
    settings.S3_SECRET_KEY = seaweedfs.secret_key
    settings.S3_BUCKET = f"atlas-test-{secrets.token_hex(6)}"
    S3Store().ensure_bucket()
    return settings


@pytest.fixture(scope="session")
def hub_server() -> Iterator[HubEndpoint]:
    hub = RunningHub(token=f"hf_test_{secrets.token_hex(12)}").start()
    try:
        yield HubEndpoint(url=hub.url, token=hub.token or "")
    finally:
        hub.stop()


@pytest.fixture
def hf_settings(settings, hub_server: HubEndpoint, tmp_path):
    settings.MODEL_STORAGE_TYPE = "hf"
    settings.HF_ENDPOINT = hub_server.url
    settings.HUGGINGFACE_TOKEN = hub_server.token
    settings.HF_MODEL_REPO = f"atlas-tests/models-{secrets.token_hex(6)}"
    settings.HF_CACHE_DIR = tmp_path / "hf-cache"
    return settings
