"""Routes of the dictionary: the MNIST service's (Hippo's) deployed API at /v1/dictionary/ (`urlpatterns`), and
its first API, whose paths its README still gives, at /vocabulary/ (`legacy_urlpatterns`, vocabulary/legacy_views.py).

The canonical paths have no trailing slash; the same routes with one are accepted too (Hippo redirected
them). Only the routes without a slash are in the API schema, so each operation is documented once.
`/v1/dictionary/word-relations` is the older README's name of `/relations`.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path, register_converter
from django.urls.converters import StringConverter

from vocabulary import legacy_views, views


class IdConverter(StringConverter):
    """Any path segment, as Hippo took it (a non-integer id is its FastAPI 422, answered by the view), and an
    integer in the API schema (SPECTACULAR_SETTINGS' PATH_CONVERTER_OVERRIDES), as Hippo's schema said."""


register_converter(IdConverter, "id")

ROUTES = [
    ("words", views.WordsView),
    ("words/<id:word_id>", views.WordView),
    ("words/<str:word_id>/definitions", views.WordDefinitionsView),
    ("words/<str:language_code>/<str:word_text>", views.WordByTextView),
    ("definitions", views.DefinitionsView),
    ("definitions/<id:definition_id>", views.DefinitionView),
    ("definitions/<id:definition_id>/examples", views.DefinitionExamplesView),
    ("examples", views.ExamplesView),
    ("examples/<id:example_id>", views.ExampleView),
    ("tags", views.TagsView),
    ("tags/<id:tag_id>", views.TagView),
    ("relations", views.RelationsView),
    ("relations/<id:word_id_1>/<id:word_id_2>/<str:relation_type>", views.RelationView),
]
OLDER_NAMES = [
    ("word-relations", views.RelationsView),
    ("word-relations/<id:word_id_1>/<id:word_id_2>/<str:relation_type>", views.RelationView),
]


LEGACY_ROUTES = [
    ("words", legacy_views.WordsView),
    ("words/search", legacy_views.WordSearchView),  # before words/{word_id}, as Hippo declared it
    ("words/<str:word_id>", legacy_views.WordView),
    ("words/<str:word_id>/tags", legacy_views.WordTagsView),
    ("words/<str:word_id>/tags/<str:tag_id>", legacy_views.WordTagView),
    ("definitions", legacy_views.DefinitionsView),
    ("definitions/<str:definition_id>", legacy_views.DefinitionView),
    ("examples", legacy_views.ExamplesView),
    ("examples/<str:example_id>", legacy_views.ExampleView),
    ("word-relations", legacy_views.RelationsView),
    ("word-relations/<str:word_id_1>/<str:word_id_2>", legacy_views.RelationView),
    ("tags", legacy_views.TagsView),
    ("tags/<str:tag_id>", legacy_views.TagView),
]


def patterns(routes: list[tuple[str, Any]], *, hidden: list[tuple[str, Any]] | None = None) -> list[URLPattern]:
    """Each route without a slash (documented) and with one (not), then the `hidden` routes both ways."""
    unlisted, hidden = {"schema": None}, hidden or []
    found = [path(route, view.as_view()) for route, view in routes]
    found += [path(f"{route}/", view.as_view(**unlisted)) for route, view in routes + hidden]
    return found + [path(route, view.as_view(**unlisted)) for route, view in hidden]


urlpatterns = patterns(ROUTES, hidden=OLDER_NAMES)
legacy_urlpatterns = patterns(LEGACY_ROUTES)
