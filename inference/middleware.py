"""Serving starts on the first request whatever started the process (see inference/serving.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import serving


class ServingMiddleware:
    """Calls `serving.ensure_started()` before each request: one pid comparison once started."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.enabled = settings.ATLAS_SERVING_AUTOSTART

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.enabled:
            serving.ensure_started()
        return self.get_response(request)
