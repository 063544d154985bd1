"""Every write to the vocabulary: typed keyword-only functions, each one transaction.

A word's `updated_at` moves here, explicitly, whenever its definitions, examples, tags or forms change.
Uniqueness is checked up front so the error can name each conflict; a race that slips past the check
meets the database constraint, and its IntegrityError becomes a ConflictError (HTTP 400), never a 500.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from vocabulary.errors import ConflictError, InvalidInput
from vocabulary.models import Definition, Example, Tag, Word, WordForm, WordRelation
from vocabulary.word_parts import (
    DefinitionInput,
    ExampleInput,
    FormInput,
    WordInput,
    apply_definitions,
    conflict,
    duplicate,
    next_orders,
    replace_examples,
    replace_forms,
    tags_by_name,
    word_problems,
)

P = ParamSpec("P")
R = TypeVar("R")


def _atomic(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in one transaction; a constraint hit by a concurrent writer becomes a ConflictError."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except IntegrityError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConflictError(f"The change conflicts with existing data; nothing was saved ({reason}).") from exc

    return wrapper


def word_touch(*, word_ids: Iterable[int]) -> None:
    """Move `updated_at` of these words to now (their definitions, examples, tags or forms changed)."""
    ids = {word_id for word_id in word_ids if word_id is not None}
    if ids:
        Word.objects.filter(pk__in=ids).update(updated_at=timezone.now())


# --- words -----------------------------------------------------------------------------------------


@_atomic
def word_create_many(*, items: Sequence[WordInput]) -> list[Word]:
    """Create every word (with its definitions, examples, tags and forms) or none.

    A word that already exists, or one given twice in `items`, is a duplicate; every duplicate is named
    in the ConflictError and nothing is written.
    """
    duplicates: list[dict] = []
    first_index: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        key = (item["text"], item["language"])
        if key in first_index:
            duplicates.append(
                duplicate(index, key[0], key[1], field="text", value=key[0], problem=f"repeats item {first_index[key]}")
            )
        else:
            first_index[key] = index
        duplicates.extend(word_problems(index, item))
    existing = Word.objects.filter(
        text__in={key[0] for key in first_index}, language__in={key[1] for key in first_index}
    ).values_list("text", "language", "pk")
    for text, language, pk in existing:
        if (text, language) in first_index:
            duplicates.append(
                duplicate(
                    first_index[(text, language)],
                    text,
                    language,
                    field="text",
                    value=text,
                    problem=f"already exists (id {pk})",
                )
            )
    if duplicates:
        duplicates.sort(key=lambda d: (d["index"], d["field"]))
        raise conflict(duplicates, what="nothing was created", single=len(items) == 1)

    words = Word.objects.bulk_create([Word(text=item["text"], language=item["language"]) for item in items])
    definitions, examples_of, forms, tag_links = [], [], [], []
    tags = {tag.name: tag for tag in tags_by_name(name for item in items for name in item.get("tags", []))}
    for word, item in zip(words, items, strict=True):
        given = item.get("definitions", [])
        for definition, order in zip(given, next_orders(given, taken=()), strict=True):
            definitions.append(
                Definition(word=word, text=definition["text"], part_of_speech=definition["part_of_speech"], order=order)
            )
            examples_of.append(definition.get("examples", []))
        forms += [WordForm(word=word, form=f["form"], form_type=f.get("form_type", "")) for f in item.get("forms", [])]
        tag_links += [
            Word.tags.through(word_id=word.pk, tag_id=tags[name].pk) for name in dict.fromkeys(item.get("tags", []))
        ]
    definitions = Definition.objects.bulk_create(definitions)
    Example.objects.bulk_create(
        [
            Example(definition=definition, text=example["text"], source=example.get("source", ""))
            for definition, examples in zip(definitions, examples_of, strict=True)
            for example in examples
        ]
    )
    WordForm.objects.bulk_create(forms)
    Word.tags.through.objects.bulk_create(tag_links)
    return words


def word_create(
    *,
    text: str,
    language: str,
    definitions: Sequence[DefinitionInput] = (),
    tags: Sequence[str] = (),
    forms: Sequence[FormInput] = (),
) -> Word:
    item: WordInput = {
        "text": text,
        "language": language,
        "definitions": list(definitions),
        "tags": list(tags),
        "forms": list(forms),
    }
    return word_create_many(items=[item])[0]


@_atomic
def word_update(
    *,
    word: Word,
    text: str | None = None,
    language: str | None = None,
    definitions: Sequence[DefinitionInput] | None = None,
    tags: Sequence[str] | None = None,
    forms: Sequence[FormInput] | None = None,
) -> Word:
    """Change a word. Definitions: updated by id, added without one. Tags and forms: replaced when given."""
    new_text = word.text if text is None else text
    new_language = word.language if language is None else language
    clash = Word.objects.filter(text=new_text, language=new_language).exclude(pk=word.pk).first()
    if clash is not None:
        raise conflict(
            [
                duplicate(
                    0, new_text, new_language, field="text", value=new_text, problem=f"already exists (id {clash.pk})"
                )
            ],
            what="nothing was changed",
            single=True,
        )
    word.text, word.language = new_text, new_language
    if definitions is not None:
        apply_definitions(word=word, items=definitions)
    if tags is not None:
        word.tags.set(tags_by_name(tags))
    if forms is not None:
        replace_forms(word=word, forms=forms)
    word.save()  # auto_now moves updated_at
    return word


@_atomic
def word_delete(*, word: Word) -> None:
    word.delete()


# --- definitions and examples ----------------------------------------------------------------------


def _order_free(*, word: Word, order: int, exclude_pk: int | None = None) -> None:
    same_order = Definition.objects.filter(word=word, order=order)
    clash = (same_order if exclude_pk is None else same_order.exclude(pk=exclude_pk)).first()
    if clash is not None:
        raise conflict(
            [
                duplicate(
                    0,
                    word.text,
                    word.language,
                    field="order",
                    value=order,
                    problem=f"definition {clash.pk} already has order {order}",
                )
            ],
            what="nothing was changed",
        )


@_atomic
def definition_create(
    *, word: Word, text: str, part_of_speech: str, order: int | None = None, examples: Sequence[ExampleInput] = ()
) -> Definition:
    if order is None:
        order = (word.definitions.aggregate(top=Max("order"))["top"] or 0) + 1
    _order_free(word=word, order=order)
    definition = Definition.objects.create(word=word, text=text, part_of_speech=part_of_speech, order=order)
    replace_examples(definition=definition, items=examples)
    word_touch(word_ids=[word.pk])
    return definition


@_atomic
def definition_update(
    *,
    definition: Definition,
    text: str | None = None,
    part_of_speech: str | None = None,
    order: int | None = None,
    examples: Sequence[ExampleInput] | None = None,
) -> Definition:
    if order is not None and order != definition.order:
        _order_free(word=definition.word, order=order, exclude_pk=definition.pk)
        definition.order = order
    if text is not None:
        definition.text = text
    if part_of_speech is not None:
        definition.part_of_speech = part_of_speech
    definition.save()
    if examples is not None:
        replace_examples(definition=definition, items=examples)
    word_touch(word_ids=[definition.word_id])
    return definition


@_atomic
def definition_delete(*, definition: Definition) -> None:
    word_id = definition.word_id
    definition.delete()
    word_touch(word_ids=[word_id])


@_atomic
def example_create(*, definition: Definition, text: str, source: str = "") -> Example:
    example = Example.objects.create(definition=definition, text=text, source=source)
    word_touch(word_ids=[definition.word_id])
    return example


@_atomic
def example_update(
    *, example: Example, definition: Definition | None = None, text: str | None = None, source: str | None = None
) -> Example:
    moved_from = example.definition.word_id
    if definition is not None:
        example.definition = definition
    if text is not None:
        example.text = text
    if source is not None:
        example.source = source
    example.save()
    word_touch(word_ids=[moved_from, example.definition.word_id])
    return example


@_atomic
def example_delete(*, example: Example) -> None:
    word_id = example.definition.word_id
    example.delete()
    word_touch(word_ids=[word_id])


# --- tags --------------------------------------------------------------------------------------------


def _tag_name_free(*, name: str, exclude_pk: int | None = None) -> None:
    same_name = Tag.objects.filter(name=name)
    clash = (same_name if exclude_pk is None else same_name.exclude(pk=exclude_pk)).first()
    if clash is not None:
        raise ConflictError(
            f"Tag '{name}' already exists",
            duplicates=[{"field": "name", "value": name, "problem": f"already exists (id {clash.pk})"}],
        )


@_atomic
def tag_create(*, name: str, description: str = "") -> Tag:
    _tag_name_free(name=name)
    return Tag.objects.create(name=name, description=description)


@_atomic
def tag_update(*, tag: Tag, name: str | None = None, description: str | None = None) -> Tag:
    if name is not None and name != tag.name:
        _tag_name_free(name=name, exclude_pk=tag.pk)
        tag.name = name
        word_touch(word_ids=tag.words.values_list("pk", flat=True))
    if description is not None:
        tag.description = description
    tag.save()
    return tag


@_atomic
def tag_delete(*, tag: Tag) -> None:
    word_touch(word_ids=tag.words.values_list("pk", flat=True))
    tag.delete()


@_atomic
def word_tag_add(*, word: Word, tag: Tag) -> Any:
    """Tag a word; the link (a row of `Word.tags.through`). A word tagged already is a ConflictError."""
    if word.tags.filter(pk=tag.pk).exists():
        raise ConflictError(
            "Word-tag association already exists",
            duplicates=[{"field": "tag_id", "value": tag.pk, "problem": f"word {word.pk} has tag '{tag.name}'"}],
        )
    link = Word.tags.through.objects.create(word=word, tag=tag)
    word_touch(word_ids=[word.pk])
    return link


@_atomic
def word_tag_remove(*, word: Word, tag: Tag) -> None:
    word.tags.remove(tag)
    word_touch(word_ids=[word.pk])


# --- relations ---------------------------------------------------------------------------------------


def _relation_valid(*, from_word: Word, to_word: Word, relation_type: str, exclude_pk: int | None = None) -> None:
    if from_word.pk == to_word.pk:
        raise InvalidInput({"word_id_2": ["A word cannot relate to itself."]})
    same_relation = WordRelation.objects.filter(from_word=from_word, to_word=to_word, relation_type=relation_type)
    clash = (same_relation if exclude_pk is None else same_relation.exclude(pk=exclude_pk)).first()
    if clash is not None:
        raise ConflictError(
            "Word relation already exists",
            duplicates=[
                {
                    "field": "relation_type",
                    "value": relation_type,
                    "problem": f"relation {clash.pk} already links these words with this type",
                }
            ],
        )


@_atomic
def relation_create(*, from_word: Word, to_word: Word, relation_type: str) -> WordRelation:
    _relation_valid(from_word=from_word, to_word=to_word, relation_type=relation_type)
    return WordRelation.objects.create(from_word=from_word, to_word=to_word, relation_type=relation_type)


@_atomic
def relation_update(
    *,
    relation: WordRelation,
    from_word: Word | None = None,
    to_word: Word | None = None,
    relation_type: str | None = None,
) -> WordRelation:
    relation.from_word = from_word or relation.from_word
    relation.to_word = to_word or relation.to_word
    relation.relation_type = relation_type or relation.relation_type
    _relation_valid(
        from_word=relation.from_word,
        to_word=relation.to_word,
        relation_type=relation.relation_type,
        exclude_pk=relation.pk,
    )
    relation.save()
    return relation


@_atomic
def relation_delete(*, relation: WordRelation) -> None:
    relation.delete()
