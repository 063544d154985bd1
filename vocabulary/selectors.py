"""Every read of the vocabulary: querysets with the prefetches each response needs, and the rows a path
names (a missing one raises NotFound, whose message the API answers as the MNIST service worded it)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from vocabulary.errors import NotFound
from vocabulary.models import Definition, Example, Tag, Word, WordForm, WordRelation

MAX_ID = 2**63 - 1

WORD_INCLUDES = ("definitions", "tags", "forms")


def word_queryset(*, include: Collection[str] = WORD_INCLUDES) -> QuerySet[Word]:
    """Words ordered by text (case-insensitively), with the rows `include` names prefetched (one query each)."""
    queryset = Word.objects.order_by(Lower("text"), "text", "language", "pk")
    if "definitions" in include:
        definitions = Definition.objects.order_by("order").prefetch_related(
            Prefetch("examples", queryset=Example.objects.order_by("pk"))
        )
        queryset = queryset.prefetch_related(Prefetch("definitions", queryset=definitions))
    if "tags" in include:
        queryset = queryset.prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    if "forms" in include:
        queryset = queryset.prefetch_related(Prefetch("forms", queryset=WordForm.objects.order_by("form")))
    return queryset


def word_list(*, search: str | None = None, language: str | None = None, full: bool = False) -> QuerySet[Word]:
    """Words whose text or any form starts with `search` (case-insensitive), each once, ordered by text."""
    queryset = word_queryset(include=WORD_INCLUDES if full else ())
    if language:
        queryset = queryset.filter(language=language)
    if search:
        form_matches = WordForm.objects.filter(word=OuterRef("pk"), form__istartswith=search)
        queryset = queryset.filter(Q(text__istartswith=search) | Exists(form_matches))
    return queryset


def word_search(*, q: str, language: str | None = None) -> QuerySet[Word]:
    """Words whose text holds `q` anywhere (case-insensitive; `%` and `_` literal), ordered by text."""
    queryset = word_queryset(include=()).filter(text__icontains=q)
    return queryset.filter(language=language) if language else queryset


def _get(queryset: QuerySet[Any], pk: int, what: str) -> Any:
    row = queryset.filter(pk=pk).first() if 1 <= pk <= MAX_ID else None
    if row is None:
        raise NotFound(f"{what} {pk} not found")
    return row


def word_get(pk: int, *, full: bool = True) -> Word:
    return _get(word_queryset(include=WORD_INCLUDES if full else ()), pk, "Word")


def word_by_text(*, language: str, text: str, full: bool = True) -> Word:
    word = word_queryset(include=WORD_INCLUDES if full else ()).filter(language=language, text=text).first()
    if word is None:
        raise NotFound(f"Word '{text}' not found for language '{language}'")
    return word


def definition_get(pk: int) -> Definition:
    return _get(definition_list().select_related("word"), pk, "Definition")


def example_get(pk: int) -> Example:
    return _get(Example.objects.select_related("definition"), pk, "Example")


def tag_get(pk: int) -> Tag:
    return _get(Tag.objects.all(), pk, "Tag")


def tag_with_words(pk: int) -> Tag:
    """A tag with its words (ordered by text) prefetched."""
    words = Prefetch("words", queryset=word_queryset(include=()))
    return _get(Tag.objects.prefetch_related(words), pk, "Tag")


def word_tag_get(*, word_id: int, tag_id: int) -> Any:
    """The link of a tag to a word (a row of `Word.tags.through`, its word and tag selected)."""
    links = Word.tags.through.objects.select_related("word", "tag")
    in_range = 1 <= word_id <= MAX_ID and 1 <= tag_id <= MAX_ID
    link = links.filter(word_id=word_id, tag_id=tag_id).first() if in_range else None
    if link is None:
        raise NotFound("Word-tag association not found")
    return link


def relation_get(*, word_id_1: int, word_id_2: int, relation_type: str) -> WordRelation:
    relation = WordRelation.objects.filter(
        from_word_id=word_id_1 if 1 <= word_id_1 <= MAX_ID else 0,
        to_word_id=word_id_2 if 1 <= word_id_2 <= MAX_ID else 0,
        relation_type=relation_type,
    ).first()
    if relation is None:
        raise NotFound("Word relation not found")
    return relation


def definition_list(*, word_id: int | None = None) -> QuerySet[Definition]:
    queryset = Definition.objects.order_by("word_id", "order").prefetch_related(
        Prefetch("examples", queryset=Example.objects.order_by("pk"))
    )
    return queryset.filter(word_id=word_id) if word_id is not None else queryset


def example_list(*, definition_id: int | None = None) -> QuerySet[Example]:
    queryset = Example.objects.order_by("definition_id", "pk")
    if definition_id is not None:
        queryset = queryset.filter(definition_id=definition_id)
    return queryset


def tag_list(*, search: str | None = None) -> QuerySet[Tag]:
    queryset = Tag.objects.order_by("name")
    if search:
        queryset = queryset.filter(name__istartswith=search)
    return queryset


def relation_list(*, word_id: int | None = None, relation_type: str | None = None) -> QuerySet[WordRelation]:
    """Relations in the order they were made; `word_id` matches either end."""
    queryset = WordRelation.objects.order_by("pk")
    if word_id is not None:
        queryset = queryset.filter(Q(from_word_id=word_id) | Q(to_word_id=word_id))
    if relation_type:
        queryset = queryset.filter(relation_type=relation_type)
    return queryset
