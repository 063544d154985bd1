"""The playground at `/` for browsers: draw a digit, drop an image or a WAV, see what the served models answer.

`page(request)` renders the page; `root(request)` is the minimal negotiation at `/` (HTML when the client prefers
text/html, JSON service information otherwise; issue 15 replaces the JSON part with the old service's shape)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def page(request: HttpRequest) -> HttpResponse:
    return render(request, "inference/playground.html")


def prefers_html(request: HttpRequest) -> bool:
    """True when the client's Accept header ranks text/html above application/json (browsers do; API clients not)."""
    accept = request.META.get("HTTP_ACCEPT", "")
    best = request.get_preferred_type(["application/json", "text/html"]) if accept else None
    return best == "text/html"


def root(request: HttpRequest) -> HttpResponse:
    if prefers_html(request):
        return page(request)
    return JsonResponse({"service": "Atlas", "docs": "/docs", "playground": "/"})
