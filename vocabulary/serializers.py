"""The dictionary's wire format: the MNIST service's (Hippo's) names and shapes, read and written.

Rows keep Atlas's column names (`Word.text`, `Word.language`, ...); each field here maps its wire name
onto the column with `source=`, so a validated payload is already in the services' keyword arguments.
Optional text the old service stored as NULL (`source`, `form_type`, a tag's `description`) is "" in
Atlas's columns and `null` on the wire.

They hold no business logic: uniqueness is the services' job (so a conflict answers 400 naming it), and
saving goes through vocabulary/services.py.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vocabulary.models import LANGUAGE_CODE_VALIDATOR, PartOfSpeech, RelationType

MAX_WORDS_PER_REQUEST = 1000


class Text(serializers.CharField):
    """Text that must be a JSON string, as Hippo's pydantic models took it: a number is refused (DRF's CharField
    would store 0 as "0", which the API schema, type string, does not allow)."""

    default_error_messages = {"invalid": "Input should be a valid string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class NullableText(Text):
    """Text that may be null on the wire and is "" in the row."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        return "" if data is None else super().to_internal_value(data)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return True, ""
        return super().validate_empty_values(data)

    # DRF's stubs have CharField answer str; this field exists to answer null.
    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return value or None


class Strict(serializers.Serializer):
    """In a PATCH (`refuse_unknown` in the context), a body that names a field this serializer does not
    write is refused with a 422 naming it, never ignored. A POST ignores unknown keys, as the old service
    did (its clients send, for instance, `word_id` in a definition's body)."""

    def to_internal_value(self, data: Any) -> Any:
        if self.context.get("refuse_unknown") and isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                extra = serializers.ErrorDetail("Extra inputs are not permitted", code="extra_forbidden")
                raise serializers.ValidationError({key: [extra] for key in unknown})
        return super().to_internal_value(data)


class NullLeavesIt(Strict):
    """A PATCH whose top-level `null` means "leave it" (the view drops those keys before validating, as the old
    service's all-Optional update shapes read them): every field is nullable, so the API schema says so."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        for field in fields.values():
            field.allow_null = True
        return fields


# --- reads -------------------------------------------------------------------------------------------


class ExampleOut(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    definition_id = serializers.IntegerField(read_only=True)
    example_text = Text(source="text", read_only=True)
    # A field named `source`: DRF's metaclass takes it out of the class, the stubs see Field.source.
    source = NullableText(read_only=True)  # type: ignore[assignment]


class DefinitionOut(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    word_id = serializers.IntegerField(read_only=True)
    definition_text = Text(source="text", read_only=True)
    part_of_speech = serializers.ChoiceField(choices=PartOfSpeech.choices, read_only=True)
    order = serializers.IntegerField(read_only=True)
    examples = ExampleOut(many=True, read_only=True)


class WordFormOut(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    word_id = serializers.IntegerField(read_only=True)
    form_text = Text(source="form", read_only=True)
    form_type = NullableText(read_only=True)


class TagOut(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = Text(read_only=True)
    description = NullableText(read_only=True)


class WordCore(serializers.Serializer):
    """A word without its parts, as Hippo's first dictionary API (/vocabulary/) answered it."""

    id = serializers.IntegerField(read_only=True)
    word_text = Text(source="text", read_only=True)
    language_code = Text(source="language", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WordOut(WordCore):
    """A word without its parts (the old `WordOut`)."""

    updated_at = serializers.DateTimeField(
        read_only=True, help_text="Moves when the word or its definitions, examples, tags or forms change."
    )


class WordFull(WordOut):
    """A word with its definitions (and their examples), tags and forms (the old `WordFull`)."""

    definitions = DefinitionOut(many=True, read_only=True)
    tags = TagOut(many=True, read_only=True)
    word_forms = WordFormOut(source="forms", many=True, read_only=True)


class RelationOut(serializers.Serializer):
    """A directed relation: word 1 is a `relation_type` of word 2."""

    word_id_1 = serializers.IntegerField(source="from_word_id", read_only=True)
    word_id_2 = serializers.IntegerField(source="to_word_id", read_only=True)
    relation_type = serializers.ChoiceField(choices=RelationType.choices, read_only=True)


# --- writes ------------------------------------------------------------------------------------------


def _require(attrs: dict[str, Any], fields: dict[str, str]) -> None:
    """In a PATCH (where DRF skips `required`), a new nested item still needs its fields: {wire: column}."""
    missing = {wire: [serializers.ErrorDetail("Field required", code="required")] for wire, key in fields.items()}
    missing = {wire: error for wire, error in missing.items() if fields[wire] not in attrs}
    if missing:
        raise serializers.ValidationError(missing)


class ExampleIn(Strict):
    example_text = Text(source="text", min_length=1, max_length=5000, trim_whitespace=False)
    # A field named `source`: DRF's metaclass takes it out of the class, the stubs see Field.source.
    source = NullableText(max_length=255)  # type: ignore[assignment]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.parent is not None:  # an example inside a definition is a new one
            _require(attrs, {"example_text": "text"})
        return attrs


class ExamplePatch(ExampleIn):
    """PATCH /examples/{id}: the fields given change; `source: null` clears it."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs


class DefinitionFields(Strict):
    """A definition's own fields (without its examples)."""

    definition_text = Text(source="text", min_length=1, max_length=10000, trim_whitespace=False)
    part_of_speech = serializers.ChoiceField(choices=PartOfSpeech.choices)
    order = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, help_text="Unique per word; the next free one when omitted."
    )


class DefinitionIn(DefinitionFields):
    """A definition with its examples. In a word's PATCH an item with an `id` changes that definition (its
    examples replaced when `examples` is given) and one without is added."""

    id = serializers.IntegerField(required=False, help_text="A word's PATCH only: the definition to change.")
    examples = ExampleIn(many=True, required=False, help_text="Replaces the definition's examples when given.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "id" not in attrs:
            _require(attrs, {"definition_text": "text", "part_of_speech": "part_of_speech"})
        return attrs


@extend_schema_field({"not": {}, "description": "Not here: only a word's PATCH takes definition ids (a 422)."})
class NoId(serializers.IntegerField):
    """An id where none may be given: kept, so that the word's validation refuses it naming `definitions`."""


class DefinitionNew(DefinitionIn):
    """A definition in a word's POST: a new one, without an `id`."""

    id = NoId(required=False)


class WordFormIn(Strict):
    form_text = Text(source="form", min_length=1, max_length=255)
    form_type = NullableText(max_length=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _require(attrs, {"form_text": "form"})
        return attrs


class WordFields(Strict):
    """A word's own fields (without its parts): Hippo's first `WordCreate`."""

    word_text = Text(source="text", min_length=1, max_length=255)
    language_code = Text(source="language", min_length=2, max_length=10, validators=[LANGUAGE_CODE_VALIDATOR])


class WordIn(WordFields):
    """POST /words (one word, or a list of them): the old `WordCreate`."""

    definitions: DefinitionIn = DefinitionNew(many=True, required=False)
    tags = serializers.ListField(
        child=Text(min_length=1, max_length=100),
        required=False,
        help_text="Tag names, created when missing.",
    )
    word_forms = WordFormIn(source="forms", many=True, required=False, help_text="Inflections (defying, defied).")

    def validate_definitions(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if any("id" in item for item in value):
            raise serializers.ValidationError("Only a word's PATCH takes definition ids.")
        return value

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.BaseSerializer[Any]:
        kwargs.setdefault("max_length", MAX_WORDS_PER_REQUEST)
        return super().many_init(*args, **kwargs)


class WordPatch(NullLeavesIt, WordIn):
    """PATCH /words/{id}: the old `WordUpdate`. Definitions change by id or are added; tags and forms are
    replaced when given. A field this cannot write is a 422, never ignored."""

    definitions = DefinitionIn(many=True, required=False)

    def validate_definitions(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return value


class DefinitionPatch(DefinitionIn):
    """PATCH /definitions/{id}: the fields given change; `examples`, when given, replace the examples."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs


class TagIn(Strict):
    name = Text(min_length=1, max_length=100)
    description = NullableText(max_length=1000)


class TagPatch(NullLeavesIt, TagIn):
    """PATCH /tags/{id}: the old `TagUpdate`; `null` leaves a field as it is."""


class RelationIn(Strict):
    word_id_1 = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    word_id_2 = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    relation_type = serializers.ChoiceField(choices=RelationType.choices)
