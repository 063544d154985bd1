"""deploy/ is checked offline against the schemas of what reads it: the compose file against the Compose
Specification (check-jsonschema's vendored copy), the Kubernetes manifests against Kubernetes' own JSON
schemas (kubernetes-validate, strict: an unknown field is an error), the Caddyfile by Caddy itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes_validate import utils as kubernetes

from tests.deploy.caddy import CADDYFILE, REPO, caddy_binary

DEPLOY = REPO / "deploy"
MANIFESTS = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.33.0"  # the oldest release still supported upstream when this was written
TORCH_PATHS = ["/api/v1/detect", "/api/v1/audio/*", "/api/v1/analyze/media", "/api/v1/sait/verify"]


def test_the_compose_file_follows_the_compose_specification():
    checker = Path(sys.executable).parent / "check-jsonschema"

    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "docker-compose.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout.strip()) == (0, "ok -- validation done"), result.stdout + result.stderr


def _manifests() -> list[Path]:
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    return [MANIFESTS / name for name in listed]


def test_the_kustomization_lists_every_manifest():
    on_disk = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}

    assert sorted(path.name for path in _manifests()) == sorted(on_disk)


@pytest.mark.parametrize("manifest", _manifests(), ids=lambda path: path.name)
def test_each_kubernetes_manifest_follows_the_kubernetes_schemas(manifest):
    for resource in yaml.safe_load_all(manifest.read_text()):
        kubernetes.validate(resource, KUBERNETES_VERSION, strict=True)  # raises ValidationError


def _resources(kind: str) -> list[dict]:
    return [r for path in _manifests() for r in yaml.safe_load_all(path.read_text()) if r["kind"] == kind]


def test_every_http_deployment_has_livez_liveness_and_readyz_readiness():
    probes = {
        d["metadata"]["name"]: (c["livenessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["path"])
        for d in _resources("Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
        if "ports" in c
    }

    assert probes == {"atlas-web": ("/livez", "/readyz"), "atlas-torch": ("/livez", "/readyz")}


def test_every_deployment_requests_whole_cpus_of_its_own():
    resources = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["resources"]
        for d in _resources("Deployment")
    }

    assert {name: r["requests"]["cpu"] for name, r in resources.items()} == {
        "atlas-web": "1",
        "atlas-torch": "2",
        "atlas-worker": "1",
    }
    assert all(r["limits"] == r["requests"] for r in resources.values())  # Guaranteed QoS: exclusive CPUs


def test_the_ingress_and_the_caddyfile_send_the_same_paths_to_the_torch_service():
    ingress = _resources("Ingress")[0]["spec"]["rules"][0]["http"]["paths"]
    to_torch = [
        rule["path"] + ("/*" if rule["pathType"] == "Prefix" else "")
        for rule in ingress
        if rule["backend"]["service"]["name"] == "atlas-torch"
    ]
    caddy = re.search(r"^\s*@torch path (.+)$", CADDYFILE.read_text(), re.MULTILINE)

    assert caddy is not None and caddy.group(1).split() == TORCH_PATHS
    assert to_torch == TORCH_PATHS


def test_caddy_accepts_the_caddyfile():
    result = subprocess.run(
        [caddy_binary(), "validate", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout.strip()) == (0, "Valid configuration"), result.stderr
