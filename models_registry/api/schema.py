"""How the admin token appears in the OpenAPI schema (/docs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema


class AdminTokenScheme(OpenApiAuthenticationExtension):
    target_class = "models_registry.api.authentication.AdminTokenAuthentication"
    name = "adminToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Authorization: Bearer <ADMIN_TOKEN>",
        }
