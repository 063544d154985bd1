"""The vocabulary API under /vocabulary/: words, definitions, examples, tags, word-relations.

Thin viewsets: parse the input, call a selector or a service, serialize the result (vocabulary/api_base.py
holds the shared skeleton, the envelope and the error mapping).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from vocabulary import selectors, services
from vocabulary.api_base import CrudViewSet, VocabularyViewSet
from vocabulary.filters import (
    DEFINITION_FILTERS,
    EXAMPLE_FILTERS,
    RELATION_FILTERS,
    TAG_FILTERS,
    WORD_FILTERS,
    parse_query,
)
from vocabulary.models import Definition, Example, Tag, Word, WordRelation
from vocabulary.serializers import (
    DefinitionSerializer,
    ExampleSerializer,
    TagSerializer,
    WordRelationSerializer,
    WordSerializer,
)

_ONE_OR_MANY = PolymorphicProxySerializer(
    component_name="WordOneOrMany",
    serializers=[WordSerializer, WordSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


@extend_schema_view(
    list=extend_schema(summary="Words ordered by text, searched by prefix of the word or of its forms"),
    retrieve=extend_schema(summary="A word with its definitions (and examples), tags and forms"),
    create=extend_schema(
        summary="Create one word or a list of words, all or nothing",
        description="A list with any duplicate (an existing word, or one given twice) creates nothing; "
        "the 400 names every duplicate.",
        request=_ONE_OR_MANY,
        responses={201: _ONE_OR_MANY},
    ),
    partial_update=extend_schema(
        summary="Change a word: definitions updated by id or added; tags and forms replaced when given"
    ),
)
class WordViewSet(VocabularyViewSet):
    queryset = Word.objects.all()
    serializer_class = WordSerializer
    filters = WORD_FILTERS

    def get_queryset(self) -> Any:
        return selectors.word_queryset()

    def list(self, request: Request) -> Response:
        params = parse_query(request, self.filters)
        include = params.pop("include") or ()
        return self.envelope(selectors.word_list(include=include, **params), include=include)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        data = self.validated(request.data, many=many)
        words = services.word_create_many(items=data if many else [data])
        fresh = selectors.word_queryset().in_bulk([word.pk for word in words])
        serializer = self.get_serializer([fresh[word.pk] for word in words], many=True)
        return Response(serializer.data if many else serializer.data[0], status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        word = self.get_object()
        services.word_update(word=word, **self.validated(request.data, instance=word, partial=True))
        return Response(self.get_serializer(self.fresh(word)).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.word_delete(word=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="A word by language and text",
        operation_id="vocabulary_words_by_text_retrieve",
        parameters=[
            OpenApiParameter("language", OpenApiTypes.STR, OpenApiParameter.PATH, description="e.g. 'en'"),
            OpenApiParameter("text", OpenApiTypes.STR, OpenApiParameter.PATH, description="The word, exact."),
        ],
    )
    @action(detail=False, methods=["get"], url_path=r"(?P<language>[^/.]+)/(?P<text>[^/]+)", url_name="by-text")
    def by_text(self, request: Request, language: str, text: str) -> Response:
        word = self.get_queryset().filter(language=language, text=text).first()
        if word is None:
            raise NotFound(f"Word {text!r} ({language}) not found")
        return Response(self.get_serializer(word).data)


class DefinitionViewSet(CrudViewSet):
    queryset = Definition.objects.all()
    serializer_class = DefinitionSerializer
    filters = DEFINITION_FILTERS

    def get_queryset(self) -> Any:
        return selectors.definition_list()

    def select(self, **filters: Any) -> Any:
        return selectors.definition_list(**filters)

    def create_row(self, **data: Any) -> Definition:
        return services.definition_create(**data)

    def update_row(self, row: Definition, **data: Any) -> Definition:
        data.pop("word", None)  # the serializer refuses a different word
        return services.definition_update(definition=row, **data)

    def delete_row(self, row: Definition) -> None:
        services.definition_delete(definition=row)


class ExampleViewSet(CrudViewSet):
    queryset = Example.objects.all()
    serializer_class = ExampleSerializer
    filters = EXAMPLE_FILTERS

    def get_queryset(self) -> Any:
        return selectors.example_list()

    def select(self, **filters: Any) -> Any:
        return selectors.example_list(**filters)

    def create_row(self, **data: Any) -> Example:
        return services.example_create(**data)

    def update_row(self, row: Example, **data: Any) -> Example:
        return services.example_update(example=row, **data)

    def delete_row(self, row: Example) -> None:
        services.example_delete(example=row)


class TagViewSet(CrudViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filters = TAG_FILTERS

    def get_queryset(self) -> Any:
        return selectors.tag_list()

    def select(self, **filters: Any) -> Any:
        return selectors.tag_list(**filters)

    def create_row(self, **data: Any) -> Tag:
        return services.tag_create(**data)

    def update_row(self, row: Tag, **data: Any) -> Tag:
        return services.tag_update(tag=row, **data)

    def delete_row(self, row: Tag) -> None:
        services.tag_delete(tag=row)


class WordRelationViewSet(CrudViewSet):
    queryset = WordRelation.objects.all()
    serializer_class = WordRelationSerializer
    filters = RELATION_FILTERS

    def get_queryset(self) -> Any:
        return selectors.relation_list()

    def select(self, **filters: Any) -> Any:
        return selectors.relation_list(**filters)

    def create_row(self, **data: Any) -> WordRelation:
        return services.relation_create(**data)

    def update_row(self, row: WordRelation, **data: Any) -> WordRelation:
        return services.relation_update(relation=row, **data)

    def delete_row(self, row: WordRelation) -> None:
        services.relation_delete(relation=row)
