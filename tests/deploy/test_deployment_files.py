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


def _ingress_rules() -> list[tuple[dict, str]]:
    """Every path rule of every Ingress, with its Ingress's body limit (ingress-nginx's proxy-body-size)."""
    return [
        (rule, ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"])
        for ingress in _resources("Ingress")
        for host in ingress["spec"]["rules"]
        for rule in host["http"]["paths"]
    ]


def test_the_ingress_and_the_caddyfile_send_the_same_paths_to_the_torch_service():
    to_torch = [
        rule["path"] + ("/*" if rule["pathType"] == "Prefix" else "")
        for rule, _ in _ingress_rules()
        if rule["backend"]["service"]["name"] == "atlas-torch"
    ]
    caddy = re.search(r"^\s*@torch path (.+)$", CADDYFILE.read_text(), re.MULTILINE)

    assert caddy is not None and caddy.group(1).split() == TORCH_PATHS
    assert sorted(to_torch) == sorted(TORCH_PATHS)


def _ingress_body_limit(path: str) -> str:
    """The proxy-body-size of the rule ingress-nginx picks for `path`: an Exact match, else the longest Prefix."""
    exact = [limit for rule, limit in _ingress_rules() if rule["pathType"] == "Exact" and rule["path"] == path]
    if exact:
        return exact[0]
    prefixes = [
        (len(rule["path"]), limit)
        for rule, limit in _ingress_rules()
        if rule["pathType"] == "Prefix"
        and (rule["path"] == "/" or path == rule["path"] or path.startswith(rule["path"].rstrip("/") + "/"))
    ]
    return max(prefixes)[1]


# A path of each view with a body limit of its own, and one of the default's.
BODY_PATHS = [
    "/api/v1/detect",
    "/api/v1/audio/classify",
    "/api/v1/analyze/media",
    "/api/v1/sait/verify",
    "/api/v1/registry/versions/",
    "/admin/models_registry/modelversion/add/",
    "/predict",
    "/v1/dictionary/words",
]


def test_each_paths_ingress_body_limit_is_the_apps_own(settings):
    from atlas.request_guard import route_body_limit

    found = {path: _ingress_body_limit(path) for path in BODY_PATHS}

    assert found == {path: f"{getattr(settings, route_body_limit(path)[1])}m" for path in BODY_PATHS}
    assert found["/admin/models_registry/modelversion/add/"] == "2048m"


def test_the_v2_infer_limit_is_under_its_ingress_limit_so_the_app_answers_its_413(settings):
    from atlas.request_guard import route_body_limit

    limit = _ingress_body_limit("/v2/models/m/infer")

    assert int(limit.removesuffix("m")) >= getattr(settings, route_body_limit("/v2/models/m/infer")[1])


def test_caddy_accepts_the_caddyfile():
    result = subprocess.run(
        [caddy_binary(), "validate", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout.strip()) == (0, "Valid configuration"), result.stderr
