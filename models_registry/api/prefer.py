"""RFC 7240 `Prefer` request header: `respond-async` asks for 202 and a job instead of the finished answer."""

from __future__ import annotations

from rest_framework.request import Request


def prefers_async(request: Request) -> bool:
    wanted = request.headers.get("Prefer", "")
    return "respond-async" in {token.strip().lower() for token in wanted.split(",")}
