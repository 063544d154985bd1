"""Response compression as the threat-intelligence service did it: gzip when the client accepts it and
the body is at least 1,000 bytes (Django's GZipMiddleware starts at 200). Smaller answers, such as the
digit /predict reply, pass through untouched: compressing them saves nothing and costs time."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

MIN_GZIP_BYTES = 1000


class LargeResponseGZipMiddleware(GZipMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if isinstance(response, HttpResponse) and len(response.content) < MIN_GZIP_BYTES:
            return response
        return super().process_response(request, response)
