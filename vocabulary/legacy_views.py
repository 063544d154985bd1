"""Hippo's first dictionary API (commit cdb6547 and before), at /vocabulary/: the paths and shapes its README
and docs still give. Thin translations onto the same selectors and services as /v1/dictionary/:

- lists are JSON arrays, windowed by `skip` (from 0) and `limit` (1..1000, 100 by default);
- GET /words/search?q= finds the words whose text holds `q` (case-insensitive);
- GET /words/{id} answers the word with its definitions and their examples;
- definitions and examples are created with their parent's id in the body (`word_id`, `definition_id`);
- a word's tags have their own routes: GET /words/{id}/tags, POST and DELETE /words/{id}/tags/{tag_id};
- a relation is deleted at /word-relations/{word_id_1}/{word_id_2}?relation_type=;
- a PATCH ignores keys it does not know, as Hippo's did.

Errors keep Hippo's words and status codes (404 "Word 7 not found", 400 "Tag 'x' already exists", FastAPI's
422 list); where Hippo answered 500 (a constraint it did not check) Atlas answers 400 or 422.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from vocabulary import selectors, services
from vocabulary.api_base import ERROR, DictionaryView, path_id
from vocabulary.errors import InvalidInput
from vocabulary.filters import QueryParam, openapi_parameters
from vocabulary.legacy_serializers import (
    VocabularyDefinition,
    VocabularyDefinitionCreate,
    VocabularyExampleCreate,
    VocabularyTagWithWords,
    VocabularyWordFull,
    VocabularyWordTag,
    VocabularyWordWithTags,
)
from vocabulary.pagination import SKIP_LIMIT_PARAMETERS, skip_limit_window
from vocabulary.serializers import (
    DefinitionFields,
    DefinitionOut,
    ExampleOut,
    ExamplePatch,
    RelationIn,
    RelationOut,
    TagIn,
    TagOut,
    WordCore,
    WordFields,
)

LANGUAGE = QueryParam("language", "text", "Language code, exact (e.g. 'en').")


def _ids(*names: str) -> list[OpenApiParameter]:
    return [OpenApiParameter(name, int, OpenApiParameter.PATH) for name in names]


def _list(operation_id: str, shape: type[serializers.Serializer], *params: Any) -> Any:
    return extend_schema(
        operation_id=operation_id,
        parameters=[*params, *SKIP_LIMIT_PARAMETERS],
        responses={200: shape(many=True)},
    )


class VocabularyView(DictionaryView):
    """Hippo's first dictionary API. Reads are open; writes need a signed-in user or the admin token (Bearer
    ADMIN_TOKEN), or VOCABULARY_PUBLIC_WRITES=1, as at /v1/dictionary/."""

    def rows(self, queryset: Any, shape: type[serializers.Serializer]) -> Response:
        return Response(shape(skip_limit_window(queryset, self.request), many=True).data)

    def required(self, name: str) -> str:
        """A required query parameter of at least one character (FastAPI's 422 otherwise)."""
        raw = self.request.query_params.get(name)
        if not raw:
            absent = raw is None
            message = "Field required" if absent else "String should have at least 1 character"
            error = ErrorDetail(message, code="required" if absent else "min_length")
            raise InvalidInput({name: [error]}, location="query")
        return raw

    def patch_body(self, shape: Any) -> Any:
        return self.body(shape, patch=True, ignore_unknown=True)


class WordsView(VocabularyView):
    @_list("vocabulary_words_list", WordCore, LANGUAGE.openapi())
    def get(self, request: Request) -> Response:
        return self.rows(selectors.word_list(**self.query((LANGUAGE,))), WordCore)

    @extend_schema(operation_id="vocabulary_words_create", request=WordFields, responses={201: WordCore})
    def post(self, request: Request) -> Response:
        return self.answer(services.word_create(**self.body(WordFields)), WordCore, 201)


class WordSearchView(VocabularyView):
    @_list(
        "vocabulary_words_search",
        WordCore,
        OpenApiParameter(
            "q",
            {"type": "string", "minLength": 1},
            OpenApiParameter.QUERY,
            required=True,
            description="Text the word holds anywhere, case-insensitive.",
        ),
        LANGUAGE.openapi(),
    )
    def get(self, request: Request) -> Response:
        q = self.required("q")
        return self.rows(selectors.word_search(q=q, **self.query((LANGUAGE,))), WordCore)


@extend_schema_view(
    get=extend_schema(operation_id="vocabulary_words_retrieve", parameters=_ids("word_id")),
    patch=extend_schema(operation_id="vocabulary_words_partial_update", parameters=_ids("word_id")),
    delete=extend_schema(operation_id="vocabulary_words_destroy", parameters=_ids("word_id")),
)
class WordView(VocabularyView):
    @extend_schema(summary="A word with its definitions and their examples", responses={200: VocabularyWordFull})
    def get(self, request: Request, word_id: str) -> Response:
        return self.answer(selectors.word_get(path_id("word_id", word_id)), VocabularyWordFull)

    @extend_schema(summary="Change a word's text or language", request=WordFields, responses={200: WordCore})
    def patch(self, request: Request, word_id: str) -> Response:
        pk, data = path_id("word_id", word_id), self.patch_body(WordFields)  # a bad body is a 422 before a 404
        return self.answer(services.word_update(word=selectors.word_get(pk, full=False), **data), WordCore)

    @extend_schema(summary="Delete a word with its definitions and examples", responses={204: None})
    def delete(self, request: Request, word_id: str) -> Response:
        services.word_delete(word=selectors.word_get(path_id("word_id", word_id), full=False))
        return self.gone()


class WordTagsView(VocabularyView):
    @extend_schema(
        operation_id="vocabulary_word_tags_retrieve",
        summary="A word with its tags",
        parameters=_ids("word_id"),
        responses={200: VocabularyWordWithTags},
    )
    def get(self, request: Request, word_id: str) -> Response:
        return self.answer(selectors.word_get(path_id("word_id", word_id)), VocabularyWordWithTags)


class WordTagView(VocabularyView):
    @extend_schema(
        operation_id="vocabulary_word_tags_create",
        summary="Tag a word (no body)",
        parameters=_ids("word_id", "tag_id"),
        request=None,
        responses={201: VocabularyWordTag},
    )
    def post(self, request: Request, word_id: str, tag_id: str) -> Response:
        word = selectors.word_get(path_id("word_id", word_id), full=False)
        tag = selectors.tag_get(path_id("tag_id", tag_id))
        return self.answer(services.word_tag_add(word=word, tag=tag), VocabularyWordTag, 201)

    @extend_schema(
        operation_id="vocabulary_word_tags_destroy",
        summary="Untag a word",
        parameters=_ids("word_id", "tag_id"),
        responses={204: None},
    )
    def delete(self, request: Request, word_id: str, tag_id: str) -> Response:
        link = selectors.word_tag_get(word_id=path_id("word_id", word_id), tag_id=path_id("tag_id", tag_id))
        services.word_tag_remove(word=link.word, tag=link.tag)
        return self.gone()


DEFINITION_FILTERS = (QueryParam("word_id", "id", "Only the definitions of this word."),)


class DefinitionsView(VocabularyView):
    @_list("vocabulary_definitions_list", DefinitionOut, *openapi_parameters(DEFINITION_FILTERS))
    def get(self, request: Request) -> Response:
        return self.rows(selectors.definition_list(**self.query(DEFINITION_FILTERS)), DefinitionOut)

    @extend_schema(
        operation_id="vocabulary_definitions_create",
        summary="Add a definition to the word `word_id` names",
        request=VocabularyDefinitionCreate,
        responses={201: VocabularyDefinition, 404: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = self.body(VocabularyDefinitionCreate)
        word = selectors.word_get(data.pop("word_id"), full=False)
        if "order" not in data and not selectors.definition_list(word_id=word.pk).filter(order=0).exists():
            data["order"] = 0  # Hippo's default, while the word has no definition 0
        return self.answer(services.definition_create(word=word, **data), VocabularyDefinition, 201)


@extend_schema_view(
    get=extend_schema(operation_id="vocabulary_definitions_retrieve", parameters=_ids("definition_id")),
    patch=extend_schema(operation_id="vocabulary_definitions_partial_update", parameters=_ids("definition_id")),
    delete=extend_schema(operation_id="vocabulary_definitions_destroy", parameters=_ids("definition_id")),
)
class DefinitionView(VocabularyView):
    def _definition(self, raw: str) -> Any:
        return selectors.definition_get(path_id("definition_id", raw))

    @extend_schema(summary="A definition with its examples", responses={200: DefinitionOut})
    def get(self, request: Request, definition_id: str) -> Response:
        return self.answer(self._definition(definition_id), DefinitionOut)

    @extend_schema(summary="Change the fields given", request=DefinitionFields, responses={200: VocabularyDefinition})
    def patch(self, request: Request, definition_id: str) -> Response:
        pk, data = path_id("definition_id", definition_id), self.patch_body(DefinitionFields)
        definition = services.definition_update(definition=selectors.definition_get(pk), **data)
        return self.answer(definition, VocabularyDefinition)

    @extend_schema(summary="Delete a definition with its examples", responses={204: None})
    def delete(self, request: Request, definition_id: str) -> Response:
        services.definition_delete(definition=self._definition(definition_id))
        return self.gone()


EXAMPLE_FILTERS = (QueryParam("definition_id", "id", "Only the examples of this definition."),)


class ExamplesView(VocabularyView):
    @_list("vocabulary_examples_list", ExampleOut, *openapi_parameters(EXAMPLE_FILTERS))
    def get(self, request: Request) -> Response:
        return self.rows(selectors.example_list(**self.query(EXAMPLE_FILTERS)), ExampleOut)

    @extend_schema(
        operation_id="vocabulary_examples_create",
        summary="Add an example to the definition `definition_id` names",
        request=VocabularyExampleCreate,
        responses={201: ExampleOut, 404: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = self.body(VocabularyExampleCreate)
        definition = selectors.definition_get(data.pop("definition_id"))
        return self.answer(services.example_create(definition=definition, **data), ExampleOut, 201)


@extend_schema_view(
    patch=extend_schema(operation_id="vocabulary_examples_partial_update", parameters=_ids("example_id")),
    delete=extend_schema(operation_id="vocabulary_examples_destroy", parameters=_ids("example_id")),
)
class ExampleView(VocabularyView):
    @extend_schema(
        summary="Change the fields given; `source: null` clears it", request=ExamplePatch, responses={200: ExampleOut}
    )
    def patch(self, request: Request, example_id: str) -> Response:
        pk, data = path_id("example_id", example_id), self.patch_body(ExamplePatch)
        return self.answer(services.example_update(example=selectors.example_get(pk), **data), ExampleOut)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, example_id: str) -> Response:
        services.example_delete(example=selectors.example_get(path_id("example_id", example_id)))
        return self.gone()


class TagsView(VocabularyView):
    @_list("vocabulary_tags_list", TagOut)
    def get(self, request: Request) -> Response:
        return self.rows(selectors.tag_list(), TagOut)

    @extend_schema(operation_id="vocabulary_tags_create", request=TagIn, responses={201: TagOut})
    def post(self, request: Request) -> Response:
        return self.answer(services.tag_create(**self.body(TagIn)), TagOut, 201)


@extend_schema_view(
    get=extend_schema(operation_id="vocabulary_tags_retrieve", parameters=_ids("tag_id")),
    patch=extend_schema(operation_id="vocabulary_tags_partial_update", parameters=_ids("tag_id")),
    delete=extend_schema(operation_id="vocabulary_tags_destroy", parameters=_ids("tag_id")),
)
class TagView(VocabularyView):
    @extend_schema(summary="A tag with its words", responses={200: VocabularyTagWithWords})
    def get(self, request: Request, tag_id: str) -> Response:
        return self.answer(selectors.tag_with_words(path_id("tag_id", tag_id)), VocabularyTagWithWords)

    @extend_schema(
        summary="Change the fields given; `description: null` clears it",
        request=TagIn(partial=True),
        responses={200: TagOut},
    )
    def patch(self, request: Request, tag_id: str) -> Response:
        pk, data = path_id("tag_id", tag_id), self.patch_body(TagIn)
        return self.answer(services.tag_update(tag=selectors.tag_get(pk), **data), TagOut)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, tag_id: str) -> Response:
        services.tag_delete(tag=selectors.tag_get(path_id("tag_id", tag_id)))
        return self.gone()


RELATION_FILTERS = (
    QueryParam("word_id", "id", "Relations where this word is at either end."),
    QueryParam("relation_type", "text", "Only this type of relation (synonym, antonym, ...)."),
)


class RelationsView(VocabularyView):
    @_list("vocabulary_word_relations_list", RelationOut, *openapi_parameters(RELATION_FILTERS))
    def get(self, request: Request) -> Response:
        return self.rows(selectors.relation_list(**self.query(RELATION_FILTERS)), RelationOut)

    @extend_schema(
        operation_id="vocabulary_word_relations_create", request=RelationIn, responses={201: RelationOut, 404: ERROR}
    )
    def post(self, request: Request) -> Response:
        data = self.body(RelationIn)
        from_word = selectors.word_get(data["word_id_1"], full=False)
        to_word = selectors.word_get(data["word_id_2"], full=False)
        relation = services.relation_create(from_word=from_word, to_word=to_word, relation_type=data["relation_type"])
        return self.answer(relation, RelationOut, 201)


class RelationView(VocabularyView):
    @extend_schema(
        operation_id="vocabulary_word_relations_destroy",
        parameters=[
            *_ids("word_id_1", "word_id_2"),
            OpenApiParameter(
                "relation_type", {"type": "string", "minLength": 1}, OpenApiParameter.QUERY, required=True
            ),
        ],
        responses={204: None},
    )
    def delete(self, request: Request, word_id_1: str, word_id_2: str) -> Response:
        relation = selectors.relation_get(
            word_id_1=path_id("word_id_1", word_id_1),
            word_id_2=path_id("word_id_2", word_id_2),
            relation_type=self.required("relation_type"),
        )
        services.relation_delete(relation=relation)
        return self.gone()
