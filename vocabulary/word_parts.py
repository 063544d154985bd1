"""The parts of a word that its services write together: definitions (with examples), forms, tags.

Helpers of vocabulary/services.py, called only inside its transactions; nothing here opens one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NotRequired, TypedDict

from vocabulary.errors import ConflictError, InvalidInput
from vocabulary.models import Definition, Example, Tag, Word, WordForm


class ExampleInput(TypedDict):
    text: str
    source: NotRequired[str]


class DefinitionInput(TypedDict):
    id: NotRequired[int]
    text: NotRequired[str]
    part_of_speech: NotRequired[str]
    order: NotRequired[int | None]
    examples: NotRequired[list[ExampleInput]]


class FormInput(TypedDict):
    form: str
    form_type: NotRequired[str]


class WordInput(TypedDict):
    text: str
    language: str
    definitions: NotRequired[list[DefinitionInput]]
    tags: NotRequired[list[str]]
    forms: NotRequired[list[FormInput]]


def duplicate(index: int, text: str, language: str, *, field: str, value: object, problem: str) -> dict:
    """One entry of a ConflictError's `duplicates`: which item, which word, which field and value, and why."""
    return {"index": index, "text": text, "language": language, "field": field, "value": value, "problem": problem}


def word_problems(index: int, item: WordInput) -> list[dict]:
    """Duplicates inside one word: a form or a definition order given twice."""
    problems = []
    forms = [form["form"] for form in item.get("forms", [])]
    for form in sorted({form for form in forms if forms.count(form) > 1}):
        problems.append(
            duplicate(
                index,
                item["text"],
                item["language"],
                field="forms",
                value=form,
                problem=f"form '{form}' is given twice",
            )
        )
    orders = [order for d in item.get("definitions", []) if (order := d.get("order")) is not None]
    for order in sorted({order for order in orders if orders.count(order) > 1}):
        problem = f"definition order {order} is given twice"
        problems.append(
            duplicate(index, item["text"], item["language"], field="definitions.order", value=order, problem=problem)
        )
    return problems


def conflict(duplicates: list[dict], *, what: str, single: bool = False) -> ConflictError:
    """The ConflictError naming every duplicate. Its message starts as the old service's did ("Word 'x'
    already exists for language 'en'", "Words already exist: x (en), ...", "Duplicate words found in
    request"), then names each problem."""
    existing = [d for d in duplicates if d["problem"].startswith("already exists")]
    repeated = [d for d in duplicates if d["problem"].startswith("repeats")]
    parts = []
    if single and len(existing) == 1 and len(duplicates) == 1:
        return ConflictError(
            f"Word '{existing[0]['text']}' already exists for language '{existing[0]['language']}'",
            duplicates=duplicates,
        )
    if existing:
        parts.append("Words already exist: " + ", ".join(f"{d['text']} ({d['language']})" for d in existing))
    if repeated:
        parts.append(
            "Duplicate words found in request: "
            + ", ".join(f"{d['text']} ({d['language']}) at item {d['index']}" for d in repeated)
        )
    others = [d for d in duplicates if d not in existing and d not in repeated]
    if others:
        parts.append("; ".join(f"{d['text']} ({d['language']}): {d['problem']}" for d in others))
    return ConflictError(f"{'; '.join(parts)}; {what}.", duplicates=duplicates)


def next_orders(definitions: Sequence[DefinitionInput], *, taken: Iterable[int]) -> list[int]:
    """The order of each definition: the one given, else the next free one after everything taken."""
    used = set(taken) | {order for d in definitions if (order := d.get("order")) is not None}
    candidate = max(used, default=0) + 1
    orders = []
    for definition in definitions:
        if (given := definition.get("order")) is not None:
            orders.append(given)
        else:
            orders.append(candidate)
            candidate += 1
    return orders


def tags_by_name(names: Iterable[str]) -> list[Tag]:
    """The tags with these names, created when missing."""
    wanted = list(dict.fromkeys(names))
    found = {tag.name: tag for tag in Tag.objects.filter(name__in=wanted)}
    missing = [Tag(name=name) for name in wanted if name not in found]
    for tag in Tag.objects.bulk_create(missing):
        found[tag.name] = tag
    return [found[name] for name in wanted]


def apply_definitions(*, word: Word, items: Sequence[DefinitionInput]) -> None:
    """Update the definitions that carry an id (their examples replaced when given), add those without
    one; keep the others as they are."""
    current = {definition.pk: definition for definition in word.definitions.all()}
    for position, item in enumerate(items):
        if "id" in item and item["id"] not in current:
            raise InvalidInput(
                {"definitions": {position: {"id": [f"Definition {item['id']} does not belong to word {word.pk}."]}}}
            )
    final = {pk: definition.order for pk, definition in current.items()}
    for item in items:
        if "id" in item and (order := item.get("order")) is not None:
            final[item["id"]] = order
    new_items = [item for item in items if "id" not in item]
    new_orders = next_orders(new_items, taken=final.values())
    orders = list(final.values()) + new_orders
    repeated = sorted({order for order in orders if orders.count(order) > 1})
    if repeated:
        raise conflict(
            [
                duplicate(
                    0,
                    word.text,
                    word.language,
                    field="definitions.order",
                    value=order,
                    problem=f"two definitions would have order {order}",
                )
                for order in repeated
            ],
            what="nothing was changed",
        )
    reorder(current=current, final=final)
    for item in items:
        if "id" in item:
            definition = current[item["id"]]
            for field in ("text", "part_of_speech"):
                if field in item:
                    setattr(definition, field, item[field])
            definition.save(update_fields=["text", "part_of_speech"])
        else:
            definition = Definition.objects.create(
                word=word, text=item["text"], part_of_speech=item["part_of_speech"], order=new_orders.pop(0)
            )
        if "examples" in item:
            replace_examples(definition=definition, items=item["examples"])


def reorder(*, current: dict[int, Definition], final: dict[int, int]) -> None:
    """Give definitions their new orders in two steps, so that swapping two orders never collides."""
    moving = [pk for pk, order in final.items() if current[pk].order != order]
    parking = max([*final.values(), *(d.order for d in current.values())], default=0) + 1
    for offset, pk in enumerate(moving):
        Definition.objects.filter(pk=pk).update(order=parking + offset)
    for pk in moving:
        Definition.objects.filter(pk=pk).update(order=final[pk])
        current[pk].order = final[pk]


def replace_examples(*, definition: Definition, items: Sequence[ExampleInput]) -> None:
    """The definition's examples become `items` (the old service's rule when examples are given)."""
    definition.examples.all().delete()
    Example.objects.bulk_create(
        [Example(definition=definition, text=item["text"], source=item.get("source", "")) for item in items]
    )


def replace_forms(*, word: Word, forms: Sequence[FormInput]) -> None:
    problems = word_problems(0, {"text": word.text, "language": word.language, "forms": list(forms)})
    if problems:
        raise conflict(problems, what="nothing was changed")
    word.forms.all().delete()
    WordForm.objects.bulk_create(
        [WordForm(word=word, form=form["form"], form_type=form.get("form_type", "")) for form in forms]
    )
