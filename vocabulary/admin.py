"""Admin for every vocabulary table. Django has no nested inlines: a word shows its definitions and forms
inline, a definition its examples (each definition row links to its own page).

Saving through the admin moves the word's `updated_at` explicitly (services.word_touch), as the API does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.db.models import Count

from vocabulary import services
from vocabulary.models import Definition, Example, Tag, Word, WordForm, WordRelation

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _DefinitionTotal(TypedDict):
    definition_total: int


class DefinitionInline(admin.TabularInline):
    model = Definition
    extra = 0
    fields = ("order", "part_of_speech", "text", "example_count")
    readonly_fields = ("example_count",)
    show_change_link = True
    ordering = ("order",)

    @admin.display(description="examples")
    def example_count(self, definition: Definition) -> int:
        return definition.examples.count() if definition.pk else 0


class WordFormInline(admin.TabularInline):
    model = WordForm
    extra = 0


class ExampleInline(admin.TabularInline):
    model = Example
    extra = 0


@admin.register(Word)
class WordAdmin(admin.ModelAdmin):
    list_display = ("text", "language", "definition_count", "updated_at")
    list_filter = ("language", "tags")
    search_fields = ("text", "forms__form")
    filter_horizontal = ("tags",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [DefinitionInline, WordFormInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(definition_total=Count("definitions"))

    @admin.display(description="definitions", ordering="definition_total")
    def definition_count(self, word: WithAnnotations[Word, _DefinitionTotal]) -> int:
        return word.definition_total

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.word_touch(word_ids=[form.instance.pk])


@admin.register(Definition)
class DefinitionAdmin(admin.ModelAdmin):
    list_display = ("word", "order", "part_of_speech", "text")
    list_filter = ("part_of_speech",)
    search_fields = ("text", "word__text")
    list_select_related = ("word",)
    autocomplete_fields = ("word",)
    inlines = [ExampleInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.word_touch(word_ids=[form.instance.word_id])

    def delete_model(self, request, obj: Definition) -> None:
        services.definition_delete(definition=obj)


@admin.register(Example)
class ExampleAdmin(admin.ModelAdmin):
    list_display = ("text", "source", "definition")
    search_fields = ("text", "source", "definition__word__text")
    list_select_related = ("definition__word",)
    raw_id_fields = ("definition",)

    def save_model(self, request, obj: Example, form, change) -> None:
        super().save_model(request, obj, form, change)
        services.word_touch(word_ids=[obj.definition.word_id])


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


@admin.register(WordRelation)
class WordRelationAdmin(admin.ModelAdmin):
    list_display = ("from_word", "relation_type", "to_word", "created_at")
    list_filter = ("relation_type",)
    search_fields = ("from_word__text", "to_word__text")
    list_select_related = ("from_word", "to_word")
    autocomplete_fields = ("from_word", "to_word")


@admin.register(WordForm)
class WordFormAdmin(admin.ModelAdmin):
    list_display = ("form", "form_type", "word")
    search_fields = ("form", "word__text")
    list_select_related = ("word",)
    autocomplete_fields = ("word",)

    def save_model(self, request, obj: WordForm, form, change) -> None:
        super().save_model(request, obj, form, change)
        services.word_touch(word_ids=[obj.word_id])
