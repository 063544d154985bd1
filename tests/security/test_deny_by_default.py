"""Issue 27 §5: DRF's default permission is IsAuthenticated, so a view whose author forgot to choose is
closed, and every DRF view chooses for itself: public ones say AllowAny, the others their permission."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView


def _drf_views(patterns: list, prefix: str = "/") -> list[tuple[str, type[APIView]]]:
    """(route, DRF view class) of every route under these patterns."""
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _drf_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)  # set by APIView.as_view, ViewSets and @api_view
            if isinstance(view, type) and issubclass(view, APIView):
                found.append((route, view))
    return found


def test_drfs_default_permission_is_is_authenticated():
    assert settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] == ["rest_framework.permissions.IsAuthenticated"]


def test_every_drf_view_says_who_may_call_it():
    views = _drf_views(get_resolver().url_patterns)
    assert len(views) > 50  # the walk reaches every app's API (a walk that found nothing would pass)

    # A view that does not set permission_classes has APIView's, the default's very list (so has an
    # @api_view without @permission_classes); an empty one lets everyone in without saying so.
    unsaid = sorted(
        {
            f"{view.__module__}.{view.__qualname__} ({route})"
            for route, view in views
            if view.permission_classes is APIView.permission_classes or not view.permission_classes
        }
    )

    assert not unsaid, (
        "These DRF views do not say who may call them (they rely on DEFAULT_PERMISSION_CLASSES, or set an "
        "empty list): on the view class (or its base class) set `permission_classes = (AllowAny,)` (from "
        "rest_framework.permissions) for a public endpoint, or the permission it needs, e.g. "
        "`(IsAuthenticated,)`, `[AdminToken]` (models_registry.api.authentication); on a function view, "
        "`@permission_classes([AllowAny])` under `@api_view`:\n" + "\n".join(unsaid)
    )
