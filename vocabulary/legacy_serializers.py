"""The wire format of Hippo's first dictionary API (commit cdb6547 and before), served at /vocabulary/.

Its shapes differ from /v1/dictionary/'s (vocabulary/serializers.py) where the old clients read them: a word
has no `updated_at`, a word read by id carries its definitions (with examples) only, a definition written
answers without its examples, a tag read by id carries its words, a tag link is `{word_id, tag_id}`.
Definitions and examples are created with their parent's id in the body. The fields they share with
/v1/dictionary/ are the same fields.
"""

from __future__ import annotations

from rest_framework import serializers

from vocabulary.models import PartOfSpeech
from vocabulary.serializers import DefinitionFields, DefinitionOut, ExampleIn, TagOut, WordCore

MAX_ID = 2**63 - 1


class VocabularyWordFull(WordCore):
    """GET /vocabulary/words/{id}: the word with its definitions, each with its examples (Hippo's `WordFull`)."""

    definitions = DefinitionOut(many=True, read_only=True)


class VocabularyWordWithTags(WordCore):
    """GET /vocabulary/words/{id}/tags (Hippo's `WordWithTags`)."""

    tags = TagOut(many=True, read_only=True)


class VocabularyTagWithWords(TagOut):
    """GET /vocabulary/tags/{id} (Hippo's `TagWithWords`)."""

    words = WordCore(many=True, read_only=True)


class VocabularyDefinition(serializers.Serializer):
    """A definition without its examples: what POST and PATCH /vocabulary/definitions answer."""

    id = serializers.IntegerField(read_only=True)
    word_id = serializers.IntegerField(read_only=True)
    definition_text = serializers.CharField(source="text", read_only=True)
    part_of_speech = serializers.ChoiceField(choices=PartOfSpeech.choices, read_only=True)
    order = serializers.IntegerField(read_only=True)


class VocabularyWordTag(serializers.Serializer):
    word_id = serializers.IntegerField(read_only=True)
    tag_id = serializers.IntegerField(read_only=True)


class VocabularyDefinitionCreate(DefinitionFields):
    """POST /vocabulary/definitions: Hippo's `DefinitionCreate`. Other keys (`examples`) are ignored, as
    Hippo ignored them."""

    word_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The word this defines.")
    order = serializers.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        help_text="Unique per word; when omitted, 0 if the word has no definition 0, else the next free one.",
    )


class VocabularyExampleCreate(ExampleIn):
    """POST /vocabulary/examples: Hippo's `ExampleCreate`."""

    definition_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The definition this illustrates."
    )
