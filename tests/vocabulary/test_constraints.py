"""The database refuses what the vocabulary forbids, whoever writes (given/when/then)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from vocabulary.models import Definition, Word, WordForm, WordRelation

pytestmark = pytest.mark.django_db


def test_word_text_and_language_are_unique_together():
    Word.objects.create(text="bank", language="en")
    Word.objects.create(text="bank", language="de")  # another language is another word

    with pytest.raises(IntegrityError), transaction.atomic():
        Word.objects.create(text="bank", language="en")

    assert Word.objects.filter(text="bank").count() == 2


def test_relation_triple_is_unique_but_a_pair_may_hold_several_types():
    big, large = Word.objects.create(text="big", language="en"), Word.objects.create(text="large", language="en")
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="synonym")
    WordRelation.objects.create(from_word=big, to_word=large, relation_type="related")

    with pytest.raises(IntegrityError), transaction.atomic():
        WordRelation.objects.create(from_word=big, to_word=large, relation_type="synonym")

    assert sorted(WordRelation.objects.values_list("relation_type", flat=True)) == ["related", "synonym"]


def test_database_check_refuses_a_word_related_to_itself():
    word = Word.objects.create(text="echo", language="en")

    with pytest.raises(IntegrityError), transaction.atomic():
        WordRelation.objects.create(from_word=word, to_word=word, relation_type="related")

    assert WordRelation.objects.count() == 0


def test_definition_order_and_form_are_unique_per_word():
    word = Word.objects.create(text="run", language="en")
    Definition.objects.create(word=word, text="move fast", part_of_speech="verb", order=1)
    WordForm.objects.create(word=word, form="ran", form_type="past")

    with pytest.raises(IntegrityError), transaction.atomic():
        Definition.objects.create(word=word, text="a jog", part_of_speech="noun", order=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WordForm.objects.create(word=word, form="ran", form_type="past participle")

    assert (word.definitions.count(), word.forms.count()) == (1, 1)


def test_database_check_refuses_a_one_letter_language():
    with pytest.raises(IntegrityError), transaction.atomic():
        Word.objects.create(text="a", language="e")

    assert Word.objects.count() == 0
