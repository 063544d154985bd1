"""The playground at `/` for browsers: draw a digit, drop an image or a WAV, see what the served models answer.

GET / (inference.api.service.RootView) renders it for a client that prefers text/html; API clients get the
threat-intelligence service's JSON there."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def page(request: HttpRequest) -> HttpResponse:
    return render(request, "inference/playground.html")
