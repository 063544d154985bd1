"""The dictionary: words, their definitions and examples, tags, directed relations between words, forms.

Every write goes through vocabulary/services.py, which also moves a word's `updated_at` when its
definitions, examples, tags or forms change (explicitly, never from a signal).
"""

from __future__ import annotations

from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual

LANGUAGE_CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9_-]+$", "A language code holds only letters, digits, '-' and '_' (e.g. 'en', 'pt-BR')."
)


class PartOfSpeech(models.TextChoices):
    NOUN = "noun", "Noun"
    VERB = "verb", "Verb"
    ADJECTIVE = "adjective", "Adjective"
    ADVERB = "adverb", "Adverb"
    PRONOUN = "pronoun", "Pronoun"
    PREPOSITION = "preposition", "Preposition"
    CONJUNCTION = "conjunction", "Conjunction"
    INTERJECTION = "interjection", "Interjection"
    DETERMINER = "determiner", "Determiner"
    AUXILIARY = "auxiliary", "Auxiliary"
    PHRASE = "phrase", "Phrase"
    OTHER = "other", "Other"


class RelationType(models.TextChoices):
    SYNONYM = "synonym", "Synonym"
    ANTONYM = "antonym", "Antonym"
    HYPERNYM = "hypernym", "Hypernym"
    HYPONYM = "hyponym", "Hyponym"
    MERONYM = "meronym", "Meronym"
    HOLONYM = "holonym", "Holonym"
    RELATED = "related", "Related"


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Word(models.Model):
    text = models.CharField(max_length=255)
    language = models.CharField(
        max_length=10, validators=[MinLengthValidator(2), LANGUAGE_CODE_VALIDATOR], help_text="e.g. 'en'"
    )
    tags = models.ManyToManyField(Tag, related_name="words", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["text", "language"]
        constraints = [
            models.UniqueConstraint(fields=["text", "language"], name="vocabulary_word_text_language_uniq"),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("language"), 2), name="vocabulary_word_language_min_length"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.text} ({self.language})"


class Definition(models.Model):
    word = models.ForeignKey(Word, on_delete=models.CASCADE, related_name="definitions")
    text = models.TextField()
    part_of_speech = models.CharField(max_length=20, choices=PartOfSpeech.choices)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["word_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["word", "order"], name="vocabulary_definition_word_order_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.word_id}#{self.order}: {self.text[:60]}"


class Example(models.Model):
    definition = models.ForeignKey(Definition, on_delete=models.CASCADE, related_name="examples")
    text = models.TextField()
    source = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["definition_id", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class WordRelation(models.Model):
    """A directed relation: `from_word` is a <relation_type> of... `to_word` (e.g. big -synonym-> large).

    A pair of words may hold several types at once; each (from, to, type) triple exists once.
    """

    from_word = models.ForeignKey(Word, on_delete=models.CASCADE, related_name="relations_from")
    to_word = models.ForeignKey(Word, on_delete=models.CASCADE, related_name="relations_to")
    relation_type = models.CharField(max_length=20, choices=RelationType.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["from_word_id", "to_word_id", "relation_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_word", "to_word", "relation_type"], name="vocabulary_relation_triple_uniq"
            ),
            models.CheckConstraint(condition=~Q(from_word=F("to_word")), name="vocabulary_relation_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.from_word_id} -{self.relation_type}-> {self.to_word_id}"


class WordForm(models.Model):
    word = models.ForeignKey(Word, on_delete=models.CASCADE, related_name="forms")
    form = models.CharField(max_length=255)
    form_type = models.CharField(max_length=50, blank=True, default="", help_text="e.g. 'plural', 'past'")

    class Meta:
        ordering = ["word_id", "form"]
        constraints = [
            models.UniqueConstraint(fields=["word", "form"], name="vocabulary_wordform_word_form_uniq"),
        ]

    def __str__(self) -> str:
        return self.form
