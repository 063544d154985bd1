"""The dictionary API, as the MNIST service (Hippo) served it under /v1/dictionary/ (and /vocabulary/).

Thin views: parse the input, call a selector or a service, answer in the old service's shapes. A word
answers alone (`WordOut`) unless its parts were asked for (`include_*`) or written (POST or PATCH with
definitions, tags or forms), then with them (`WordFull`), as before.
"""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from vocabulary import selectors, services
from vocabulary.api_base import ERROR, DictionaryView, path_id
from vocabulary.filters import (
    DEFINITION_FILTERS,
    EXAMPLE_FILTERS,
    RELATION_FILTERS,
    TAG_FILTERS,
    WORD_BY_TEXT_FILTERS,
    WORD_LIST_FILTERS,
    WORD_READ_FILTERS,
    includes,
    openapi_parameters,
)
from vocabulary.serializers import (
    DefinitionIn,
    DefinitionOut,
    DefinitionPatch,
    ExampleIn,
    ExampleOut,
    ExamplePatch,
    RelationIn,
    RelationOut,
    TagIn,
    TagOut,
    TagPatch,
    WordFormOut,
    WordFull,
    WordIn,
    WordOut,
    WordPatch,
)


class WordAnswer(WordOut):
    """For the schema: a word, with `definitions`, `tags` and `word_forms` when its parts are included."""

    definitions = DefinitionOut(many=True, required=False)
    tags = TagOut(many=True, required=False)
    word_forms = WordFormOut(many=True, required=False)


ONE_OR_MANY_IN = PolymorphicProxySerializer(
    component_name="WordCreateOneOrMany",
    serializers=[WordIn, WordIn(many=True)],
    resource_type_field_name=None,
    many=False,
)
ONE_OR_MANY_OUT = PolymorphicProxySerializer(
    component_name="WordAnswerOneOrMany",
    serializers=[WordAnswer, WordAnswer(many=True)],
    resource_type_field_name=None,
    many=False,
)


@functools.cache
def paginated(serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """For the schema: the envelope of a list, {"data": [...], "total", "page", ...}."""
    return inline_serializer(
        f"Paginated{serializer.__name__}",
        {
            "data": serializer(many=True),
            "total": serializers.IntegerField(),
            "page": serializers.IntegerField(),
            "page_size": serializers.IntegerField(),
            "total_pages": serializers.IntegerField(),
            "has_more": serializers.BooleanField(),
        },
    )


def _has_parts(item: dict[str, Any]) -> bool:
    return bool(item.get("definitions") or item.get("tags") or item.get("forms"))


def _word_id(raw: str) -> int:
    return path_id("word_id", raw)


class WordsView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_words_list",
        summary="Words ordered by text, searched by a prefix of the word or of one of its forms",
        parameters=openapi_parameters(WORD_LIST_FILTERS),
        responses={200: paginated(WordAnswer)},
    )
    def get(self, request: Request) -> Response:
        params = self.query(WORD_LIST_FILTERS)
        full = includes(params)
        return self.page(selectors.word_list(full=full, **params), WordFull if full else WordOut)

    @extend_schema(
        operation_id="dictionary_words_create",
        summary="Create one word or a list of words (with definitions, tags and forms), all or nothing",
        description="A list with any duplicate (an existing word, or one given twice) creates nothing; the 400 "
        "names every duplicate. An empty list is a 400, one over 1000 words a 422. The answer has the words' "
        "parts when any were given.",
        request=ONE_OR_MANY_IN,
        responses={201: ONE_OR_MANY_OUT},
    )
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        if many and not request.data:
            raise ParseError("No words provided")
        items = self.body(WordIn, many=many)
        items = items if many else [items]
        words = services.word_create_many(items=items)
        full = any(_has_parts(item) for item in items)
        fresh = selectors.word_queryset(include=selectors.WORD_INCLUDES if full else ()).in_bulk(
            [word.pk for word in words]
        )
        data = (WordFull if full else WordOut)([fresh[word.pk] for word in words], many=True).data
        return Response(data if many else data[0], status=201)


class WordView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_words_retrieve",
        summary="A word; with its definitions (and examples), tags and forms when include_* asks",
        parameters=openapi_parameters(WORD_READ_FILTERS),
        responses={200: WordAnswer},
    )
    def get(self, request: Request, word_id: str) -> Response:
        full = includes(self.query(WORD_READ_FILTERS))
        return self.answer(selectors.word_get(_word_id(word_id), full=full), WordFull if full else WordOut)

    @extend_schema(
        operation_id="dictionary_words_partial_update",
        summary="Change a word: definitions changed by id or added; tags and forms replaced when given",
        description="Any other field is a 422 naming it. The answer has the word's parts when definitions, "
        "tags or forms were given.",
        request=WordPatch,
        responses={200: WordAnswer},
    )
    def patch(self, request: Request, word_id: str) -> Response:
        word = selectors.word_get(_word_id(word_id), full=False)
        data = self.body(WordPatch, patch=True, null_unchanged=True)
        services.word_update(word=word, **data)
        full = any(name in data for name in ("definitions", "tags", "forms"))
        return self.answer(selectors.word_get(word.pk, full=full), WordFull if full else WordOut)

    @extend_schema(
        operation_id="dictionary_words_destroy", summary="Delete a word with its parts", responses={204: None}
    )
    def delete(self, request: Request, word_id: str) -> Response:
        services.word_delete(word=selectors.word_get(_word_id(word_id), full=False))
        return self.gone()


class WordByTextView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_words_by_text",
        summary="A word by language and text, with its parts unless include_all=false",
        parameters=[
            OpenApiParameter("language_code", str, OpenApiParameter.PATH, description="e.g. 'en'"),
            OpenApiParameter("word_text", str, OpenApiParameter.PATH, description="The word, exact."),
            *openapi_parameters(WORD_BY_TEXT_FILTERS),
        ],
        responses={200: WordAnswer},
    )
    def get(self, request: Request, language_code: str, word_text: str) -> Response:
        full = includes(self.query(WORD_BY_TEXT_FILTERS))
        word = selectors.word_by_text(language=language_code, text=word_text, full=full)
        return self.answer(word, WordFull if full else WordOut)


class WordDefinitionsView(WordByTextView):
    """POST /words/{id}/definitions. A GET of that path is the word named "definitions" in the language
    `word_id` (the old service matched /words/{language_code}/{word_text} first, and so does this)."""

    @extend_schema(
        operation_id="dictionary_words_by_text_definitions",
        summary='The word "definitions" in the language `word_id` (as words/{language_code}/{word_text})',
        parameters=[
            OpenApiParameter("word_id", str, OpenApiParameter.PATH, description="Here a language code, e.g. 'en'."),
            *openapi_parameters(WORD_BY_TEXT_FILTERS),
        ],
        responses={200: WordAnswer},
    )
    def get(self, request: Request, word_id: str) -> Response:  # type: ignore[override]  # its path's kwargs
        return super().get(request, language_code=word_id, word_text="definitions")

    @extend_schema(
        operation_id="dictionary_word_definitions_create",
        summary="Add a definition (with its examples) to a word",
        parameters=[OpenApiParameter("word_id", int, OpenApiParameter.PATH)],
        request=DefinitionIn,
        responses={201: DefinitionOut},
    )
    def post(self, request: Request, word_id: str) -> Response:
        word = selectors.word_get(_word_id(word_id), full=False)
        data = self.body(DefinitionIn)
        data.pop("id", None)
        definition = services.definition_create(word=word, **data)
        return self.answer(selectors.definition_get(definition.pk), DefinitionOut, 201)


class RowView(DictionaryView):
    """GET, PATCH and DELETE of one row named by the id in its path (a definition, an example, a tag): a
    subclass names the id, its shapes, and the selector and services it calls."""

    id_name: str
    shape: type[serializers.Serializer]
    patch_shape: type[serializers.Serializer]
    nulls_unchanged = False  # a tag's PATCH reads null as "leave it" (Hippo's TagUpdate); an example's clears

    def row(self, pk: int) -> Any:
        raise NotImplementedError

    def change(self, row: Any, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def remove(self, row: Any) -> None:
        raise NotImplementedError

    def _named(self, ids: dict[str, str]) -> Any:
        return self.row(path_id(self.id_name, ids[self.id_name]))

    def get(self, request: Request, **ids: str) -> Response:
        return self.answer(self._named(ids), self.shape)

    def patch(self, request: Request, **ids: str) -> Response:
        row = self._named(ids)
        self.change(row, self.body(self.patch_shape, patch=True, null_unchanged=self.nulls_unchanged))
        return self.answer(self.row(row.pk), self.shape)

    def delete(self, request: Request, **ids: str) -> Response:
        self.remove(self._named(ids))
        return self.gone()


def row_schema(plural: str, shape: type[serializers.Serializer], patch: Any, changes: str) -> dict[str, Any]:
    """The schema of a RowView's three operations."""
    return {
        "get": extend_schema(
            operation_id=f"dictionary_{plural}_retrieve",
            description=f"One of the {plural}, by its id.",
            responses={200: shape},
        ),
        "patch": extend_schema(
            operation_id=f"dictionary_{plural}_partial_update",
            summary=f"Change one of the {plural}: {changes}",
            description="A field this cannot write is a 422 naming it, never ignored.",
            request=patch,
            responses={200: shape},
        ),
        "delete": extend_schema(
            operation_id=f"dictionary_{plural}_destroy",
            description=f"Delete one of the {plural}.",
            responses={204: None},
        ),
    }


class DefinitionsView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_definitions_list",
        summary="Definitions (with their examples), by word and order",
        parameters=openapi_parameters(DEFINITION_FILTERS),
        responses={200: paginated(DefinitionOut)},
    )
    def get(self, request: Request) -> Response:
        return self.page(selectors.definition_list(**self.query(DEFINITION_FILTERS)), DefinitionOut)


@extend_schema_view(
    **row_schema(
        "definitions", DefinitionOut, DefinitionPatch, "the fields given; `examples`, when given, replace its examples"
    )
)
class DefinitionView(RowView):
    id_name, shape, patch_shape = "definition_id", DefinitionOut, DefinitionPatch

    def row(self, pk: int) -> Any:
        return selectors.definition_get(pk)

    def change(self, row: Any, data: dict[str, Any]) -> None:
        data.pop("id", None)
        services.definition_update(definition=row, **data)

    def remove(self, row: Any) -> None:
        services.definition_delete(definition=row)


class DefinitionExamplesView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_definition_examples_list",
        summary="The examples of a definition",
        responses={200: paginated(ExampleOut)},
    )
    def get(self, request: Request, definition_id: str) -> Response:
        definition = selectors.definition_get(path_id("definition_id", definition_id))
        return self.page(selectors.example_list(definition_id=definition.pk), ExampleOut)

    @extend_schema(
        operation_id="dictionary_definition_examples_create",
        summary="Add an example to a definition",
        request=ExampleIn,
        responses={201: ExampleOut},
    )
    def post(self, request: Request, definition_id: str) -> Response:
        definition = selectors.definition_get(path_id("definition_id", definition_id))
        example = services.example_create(definition=definition, **self.body(ExampleIn))
        return self.answer(example, ExampleOut, 201)


class ExamplesView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_examples_list",
        parameters=openapi_parameters(EXAMPLE_FILTERS),
        responses={200: paginated(ExampleOut)},
    )
    def get(self, request: Request) -> Response:
        return self.page(selectors.example_list(**self.query(EXAMPLE_FILTERS)), ExampleOut)


@extend_schema_view(**row_schema("examples", ExampleOut, ExamplePatch, "the fields given"))
class ExampleView(RowView):
    id_name, shape, patch_shape = "example_id", ExampleOut, ExamplePatch

    def row(self, pk: int) -> Any:
        return selectors.example_get(pk)

    def change(self, row: Any, data: dict[str, Any]) -> None:
        services.example_update(example=row, **data)

    def remove(self, row: Any) -> None:
        services.example_delete(example=row)


class TagsView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_tags_list",
        summary="Tags by name, searched by a prefix of the name",
        parameters=openapi_parameters(TAG_FILTERS),
        responses={200: paginated(TagOut)},
    )
    def get(self, request: Request) -> Response:
        return self.page(selectors.tag_list(**self.query(TAG_FILTERS)), TagOut)

    @extend_schema(operation_id="dictionary_tags_create", request=TagIn, responses={201: TagOut})
    def post(self, request: Request) -> Response:
        return self.answer(services.tag_create(**self.body(TagIn)), TagOut, 201)


@extend_schema_view(**row_schema("tags", TagOut, TagPatch(partial=True), "the fields given; `null` leaves one"))
class TagView(RowView):
    id_name, shape, patch_shape = "tag_id", TagOut, TagPatch
    nulls_unchanged = True

    def row(self, pk: int) -> Any:
        return selectors.tag_get(pk)

    def change(self, row: Any, data: dict[str, Any]) -> None:
        services.tag_update(tag=row, **data)

    def remove(self, row: Any) -> None:
        services.tag_delete(tag=row)


class RelationsView(DictionaryView):
    @extend_schema(
        operation_id="dictionary_relations_list",
        summary="Relations, by a word at either end and by type",
        parameters=openapi_parameters(RELATION_FILTERS),
        responses={200: paginated(RelationOut)},
    )
    def get(self, request: Request) -> Response:
        return self.page(selectors.relation_list(**self.query(RELATION_FILTERS)), RelationOut)

    @extend_schema(
        operation_id="dictionary_relations_create",
        summary="Relate word 1 to word 2 (a pair may hold several types)",
        request=RelationIn,
        responses={201: RelationOut, 404: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = self.body(RelationIn)
        from_word = selectors.word_get(data["word_id_1"], full=False)
        to_word = selectors.word_get(data["word_id_2"], full=False)
        relation = services.relation_create(from_word=from_word, to_word=to_word, relation_type=data["relation_type"])
        return self.answer(relation, RelationOut, 201)


class RelationView(DictionaryView):
    @extend_schema(operation_id="dictionary_relations_destroy", responses={204: None})
    def delete(self, request: Request, word_id_1: str, word_id_2: str, relation_type: str) -> Response:
        relation = selectors.relation_get(
            word_id_1=path_id("word_id_1", word_id_1),
            word_id_2=path_id("word_id_2", word_id_2),
            relation_type=relation_type,
        )
        services.relation_delete(relation=relation)
        return self.gone()
