"""Every read of the vocabulary: querysets with the prefetches each response needs, nothing else."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from vocabulary.models import Definition, Example, Tag, Word, WordForm, WordRelation

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


def word_list(
    *, search: str | None = None, language: str | None = None, include: Collection[str] = ()
) -> QuerySet[Word]:
    """Words whose text or any form starts with `search` (case-insensitive), each once, ordered by text."""
    queryset = word_queryset(include=include)
    if language:
        queryset = queryset.filter(language=language)
    if search:
        form_matches = WordForm.objects.filter(word=OuterRef("pk"), form__istartswith=search)
        queryset = queryset.filter(Q(text__istartswith=search) | Exists(form_matches))
    return queryset


def definition_list(*, word_id: int | None = None) -> QuerySet[Definition]:
    queryset = Definition.objects.order_by("word_id", "order").prefetch_related(
        Prefetch("examples", queryset=Example.objects.order_by("pk"))
    )
    return queryset.filter(word_id=word_id) if word_id is not None else queryset


def example_list(*, definition_id: int | None = None, word_id: int | None = None) -> QuerySet[Example]:
    queryset = Example.objects.order_by("definition_id", "pk")
    if definition_id is not None:
        queryset = queryset.filter(definition_id=definition_id)
    if word_id is not None:
        queryset = queryset.filter(definition__word_id=word_id)
    return queryset


def tag_list(*, search: str | None = None, word_id: int | None = None) -> QuerySet[Tag]:
    queryset = Tag.objects.order_by("name")
    if search:
        queryset = queryset.filter(name__istartswith=search)
    if word_id is not None:
        queryset = queryset.filter(words__pk=word_id)
    return queryset


def relation_list(
    *,
    word_id: int | None = None,
    from_word_id: int | None = None,
    to_word_id: int | None = None,
    relation_type: str | None = None,
) -> QuerySet[WordRelation]:
    """Relations, with both words joined; `word_id` matches either end."""
    queryset = WordRelation.objects.select_related("from_word", "to_word").order_by("pk")
    if word_id is not None:
        queryset = queryset.filter(Q(from_word_id=word_id) | Q(to_word_id=word_id))
    if from_word_id is not None:
        queryset = queryset.filter(from_word_id=from_word_id)
    if to_word_id is not None:
        queryset = queryset.filter(to_word_id=to_word_id)
    if relation_type:
        queryset = queryset.filter(relation_type=relation_type)
    return queryset
