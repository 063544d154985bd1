"""Shapes of the vocabulary API: each serializer reads a row and checks the fields of a write.

They hold no business logic: uniqueness is the services' job (so a conflict answers 400 naming it), and
saving goes through vocabulary/services.py. Nested `id`s are accepted only by PATCH, where an item with an
id updates that row and an item without one is added.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Manager
from rest_framework import serializers

from vocabulary.models import LANGUAGE_CODE_VALIDATOR, Definition, PartOfSpeech, RelationType, Word

MAX_WORDS_PER_REQUEST = 1000


def _is_patch(serializer: serializers.Field) -> bool:
    return bool(getattr(serializer.root, "partial", False))


def _check_nested(serializer: serializers.Serializer, attrs: dict[str, Any], required: tuple[str, ...]) -> None:
    """POST: no ids. PATCH: an item without an id is new, so it needs every required field."""
    if "id" in attrs and not _is_patch(serializer):
        raise serializers.ValidationError({"id": ["Only PATCH accepts ids (to update a nested row)."]})
    if "id" not in attrs:
        missing = {name: ["This field is required."] for name in required if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)


class ExampleNestedSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, help_text="PATCH only: the example to update.")
    text = serializers.CharField()
    source = serializers.CharField(max_length=255, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_nested(self, attrs, ("text",))
        return attrs


class DefinitionNestedSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, help_text="PATCH only: the definition to update.")
    text = serializers.CharField()
    part_of_speech = serializers.ChoiceField(choices=PartOfSpeech.choices)
    order = serializers.IntegerField(
        min_value=0, required=False, allow_null=True, help_text="Unique per word; the next free one when omitted."
    )
    examples = ExampleNestedSerializer(many=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_nested(self, attrs, ("text", "part_of_speech"))
        return attrs


class FormSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    form = serializers.CharField(max_length=255)
    form_type = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text="e.g. 'plural'")


class TagNamesField(serializers.ListField):
    """Tags as a list of names: written by name (created when missing), read as names."""

    child = serializers.CharField(max_length=100)

    def to_representation(self, data: Any) -> list[str]:
        if isinstance(data, Manager):
            return [tag.name for tag in data.all()]
        return super().to_representation(data)


class WordSerializer(serializers.Serializer):
    """A word. In lists, `definitions`, `tags` and `forms` appear only when `include=` names them."""

    id = serializers.IntegerField(read_only=True)
    text = serializers.CharField(max_length=255)
    language = serializers.CharField(min_length=2, max_length=10, validators=[LANGUAGE_CODE_VALIDATOR])
    definitions = DefinitionNestedSerializer(
        many=True, required=False, help_text="PATCH: updated by id, added without one; the others are kept."
    )
    tags = TagNamesField(required=False, help_text="Tag names, created when missing. PATCH: replaces them all.")
    forms = FormSerializer(many=True, required=False, help_text="PATCH: replaces them all.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(
        read_only=True, help_text="Moves when the word or its definitions, examples, tags or forms change."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        include = self.context.get("include")
        if include is not None:
            for name in ("definitions", "tags", "forms"):
                if name not in include:
                    fields.pop(name)
        return fields

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.ListSerializer:
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", MAX_WORDS_PER_REQUEST)
        return super().many_init(*args, **kwargs)


class WordBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    text = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)


class DefinitionSerializer(DefinitionNestedSerializer):
    """A definition with its examples. `word_id` is set on creation and cannot change."""

    id = serializers.IntegerField(read_only=True)
    word_id = serializers.PrimaryKeyRelatedField(source="word", queryset=Word.objects.all())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "word" in attrs and attrs["word"].pk != self.instance.word_id:
            raise serializers.ValidationError({"word_id": ["A definition cannot move to another word."]})
        return attrs


class ExampleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    definition_id = serializers.PrimaryKeyRelatedField(source="definition", queryset=Definition.objects.all())
    text = serializers.CharField()
    source = serializers.CharField(max_length=255, required=False, allow_blank=True)


class TagSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True)


class WordRelationSerializer(serializers.Serializer):
    """A directed relation: `from_word` is a `relation_type` of `to_word`."""

    id = serializers.IntegerField(read_only=True)
    from_word_id = serializers.PrimaryKeyRelatedField(source="from_word", queryset=Word.objects.all())
    to_word_id = serializers.PrimaryKeyRelatedField(source="to_word", queryset=Word.objects.all())
    relation_type = serializers.ChoiceField(choices=RelationType.choices)
    from_word = WordBriefSerializer(read_only=True)
    to_word = WordBriefSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from_word = attrs.get("from_word", getattr(self.instance, "from_word", None))
        to_word = attrs.get("to_word", getattr(self.instance, "to_word", None))
        if from_word is not None and to_word is not None and from_word.pk == to_word.pk:
            raise serializers.ValidationError({"to_word_id": ["A word cannot relate to itself."]})
        return attrs
