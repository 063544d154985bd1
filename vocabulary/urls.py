"""Routes of the vocabulary API, mounted at /vocabulary/: /vocabulary/words, /vocabulary/words/{id}, ...

The canonical paths have no trailing slash; the same routes with one are accepted too, and left out of the
API schema so that each operation is documented once.
"""

from rest_framework.routers import SimpleRouter

from vocabulary import views


class SlashAliasRouter(SimpleRouter):
    """The same routes with a trailing slash, hidden from the schema (`schema=None`)."""

    def get_routes(self, viewset):
        return [
            route._replace(initkwargs={**route.initkwargs, "schema": None}) for route in super().get_routes(viewset)
        ]


RESOURCES = [
    ("words", views.WordViewSet, "word"),
    ("definitions", views.DefinitionViewSet, "definition"),
    ("examples", views.ExampleViewSet, "example"),
    ("tags", views.TagViewSet, "tag"),
    ("word-relations", views.WordRelationViewSet, "word-relation"),
]

router = SimpleRouter(trailing_slash=False)
slash_router = SlashAliasRouter(trailing_slash=True)
for prefix, viewset, basename in RESOURCES:
    router.register(prefix, viewset, basename=basename)
    slash_router.register(prefix, viewset, basename=f"{basename}-slash")

urlpatterns = router.urls + slash_router.urls
