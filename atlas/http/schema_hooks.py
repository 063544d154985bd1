"""A drf-spectacular postprocessing hook: the error answers every operation can give, in the schema.

Views document their own specific errors (an upload's 413/415, a model's 503, the vocabulary's 400/422);
this adds, where a view did not, the answers that come from layers in front of every view, with the
shape `{"detail": ..., ...}` they all share:
- 400 on every operation: a NUL character in the path or query (atlas.request_guard), a body that does
  not parse or nests too deep (atlas.http.parsers);
- 408 and 413 on operations with a body: a body that stops arriving under gunicorn (atlas.request_guard);
  over ATLAS_MAX_REQUEST_MB (or a chunked body over its limit);
- 403 (and 401 for a malformed Authorization header) on operations that need a user or the admin token;
  503 on the admin API while ADMIN_TOKEN is unset;
- 404 on operations with a path parameter;
- 422 on the registry's and the admin API's writes (a refused registry operation);
- 429 on the rate-limited views (those with a `throttle_scope`, atlas.http.throttling), with Retry-After.

`no_nul_in_strings` states atlas.request_guard's rule in the schema: no text anywhere (path, query, body) may
hold a NUL character; every plain string gets the pattern `^[^\x00]*$`.
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "error": {"type": "string"}},
    "required": ["detail"],
}
# A 400 from DRF's validation names the fields instead: {"model_type": ["This field is required."]}.
BAD_REQUEST = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "error": {"type": "string"}},
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorDetail"}
BAD_REQUEST_REF = {"$ref": "#/components/schemas/BadRequest"}
DESCRIPTIONS = {
    "400": "Bad request: a NUL character, a body that does not parse (`detail`), or fields that do not validate "
    "(each field's messages).",
    "401": "A malformed Authorization header.",
    "403": "Not allowed: no credentials, a wrong token, or a missing permission.",
    "404": "No such object.",
    "408": "The request body stopped arriving (ATLAS_BODY_IDLE_SECONDS) or came too slowly (ATLAS_BODY_MIN_KBPS).",
    "413": "The request body is over its limit.",
    "422": "The registry refused the operation; `detail` says why.",
    "503": "The admin API is disabled: ADMIN_TOKEN is not set.",
    "429": "Too many requests from this client for this endpoint's rate limit; Retry-After says when to retry.",
}


def _codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["400"]
    if method in ("post", "put", "patch"):
        codes += ["408", "413"]
    needs_identity = bool(operation.get("security")) and {} not in operation["security"]
    if needs_identity or (method != "get" and path.startswith(("/v1/dictionary/", "/vocabulary/"))):
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
    if method == "post" and path.startswith(("/api/v1/registry/", "/api/v1/admin/reload-models")):
        codes.append("422")
    if path.startswith("/api/v1/admin/"):
        codes.append("503")
    return codes


def _throttled_paths(generator: Any) -> set[str]:
    """The paths whose view has a rate limit (a throttle_scope)."""
    paths = set()
    for endpoint in getattr(generator, "endpoints", None) or []:
        path, callback = endpoint[0], endpoint[-1]
        if getattr(getattr(callback, "cls", None), "throttle_scope", None):
            paths.add(path)
    return paths


def document_common_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorDetail"], schemas["BadRequest"] = ERROR, BAD_REQUEST
    throttled = _throttled_paths(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _codes(path, method, operation) + (["429"] if path in throttled else []):
                schema = BAD_REQUEST_REF if code == "400" else ERROR_REF
                responses.setdefault(
                    code, {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}
                )
    return result


NO_NUL = "^[^\u0000]*$"


def _no_nul(node: Any) -> None:
    if isinstance(node, dict):
        plain = node.get("type") == "string" and not {"format", "pattern", "enum"} & node.keys()
        if plain:
            node["pattern"] = NO_NUL
        for value in node.values():
            _no_nul(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul(value)


def no_nul_in_strings(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every plain string of every request (components, parameters, bodies) refuses NUL, as the service does."""
    _no_nul(result.get("components", {}).get("schemas", {}))
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                _no_nul(operation.get("parameters", []))
                _no_nul(operation.get("requestBody", {}))
    return result
