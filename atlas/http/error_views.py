"""Django's error views (handler400/403/404/500): JSON everywhere but the browser-facing admin.

The API's own errors go through atlas.http.exceptions (DRF); these answer what never reaches a view: an
unknown path, a request Django refuses before routing, an error outside DRF. The body of a 404 is
`{"detail": "Not Found"}`, the shape of FastAPI, which both services Atlas replaces spoke.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from .exceptions import DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE, database_unavailable

BROWSER_PREFIXES = ("/admin/",)


def _browser(request: HttpRequest) -> bool:
    return request.path.startswith(BROWSER_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _browser(request):
        return defaults.bad_request(request, exception)
    return JsonResponse({"detail": "Bad Request", "error": "bad_request"}, status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _browser(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"detail": "Forbidden"}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _browser(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"detail": "Not Found"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]  # Django calls this view while handling the exception
    if isinstance(exc, DATABASE_UNAVAILABLE):  # the admin's too: not the request's fault, and it passes
        response = JsonResponse(database_unavailable(exc), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if _browser(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": "Internal error; it has been logged.", "error": "internal_error"}, status=500)
