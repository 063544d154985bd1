"""Routes of the dictionary, mounted at /v1/dictionary/ (the MNIST service's deployed paths) and at
/vocabulary/ (the paths its older README gave), one API at both.

The canonical paths have no trailing slash; the same routes with one are accepted too. Only the
/v1/dictionary/ routes without a slash are in the API schema, so each operation is documented once.
`/word-relations` is the older README's name of `/relations`.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from vocabulary import views

ROUTES = [
    ("words", views.WordsView),
    ("words/<str:word_id>", views.WordView),
    ("words/<str:word_id>/definitions", views.WordDefinitionsView),
    ("words/<str:language_code>/<str:word_text>", views.WordByTextView),
    ("definitions", views.DefinitionsView),
    ("definitions/<str:definition_id>", views.DefinitionView),
    ("definitions/<str:definition_id>/examples", views.DefinitionExamplesView),
    ("examples", views.ExamplesView),
    ("examples/<str:example_id>", views.ExampleView),
    ("tags", views.TagsView),
    ("tags/<str:tag_id>", views.TagView),
    ("relations", views.RelationsView),
    ("relations/<str:word_id_1>/<str:word_id_2>/<str:relation_type>", views.RelationView),
]
OLDER_NAMES = [
    ("word-relations", views.RelationsView),
    ("word-relations/<str:word_id_1>/<str:word_id_2>/<str:relation_type>", views.RelationView),
]


def patterns(*, documented: bool) -> list[URLPattern]:
    hidden = {"schema": None}
    routes = [path(route, view.as_view(**({} if documented else hidden))) for route, view in ROUTES]
    routes += [path(f"{route}/", view.as_view(**hidden)) for route, view in ROUTES + OLDER_NAMES]
    routes += [path(route, view.as_view(**hidden)) for route, view in OLDER_NAMES]
    return routes


urlpatterns = patterns(documented=True)
older_urlpatterns = patterns(documented=False)
