"""What the tests of Hippo's first dictionary API (/vocabulary/) share: its word shape, a validation item, an entry."""

from __future__ import annotations

from collections.abc import Callable

from vocabulary.models import Word

API = "/vocabulary"


def word_out(word: Word) -> dict:
    """The word as Hippo's first API answers it (its `WordOut`)."""
    word.refresh_from_db()
    return {
        "id": word.pk,
        "word_text": word.text,
        "language_code": word.language,
        "created_at": word.created_at.isoformat().replace("+00:00", "Z"),
    }


def missing(where: str, name: str, msg: str = "This field is required.") -> dict:
    return {"loc": [where, name], "msg": msg, "type": "missing"}


def make_cat(make_word: Callable[..., Word]) -> Word:
    """ "cat" with a definition, its example, a tag and a form."""
    return make_word(
        "cat",
        definitions=[{"text": "a small feline", "part_of_speech": "noun", "examples": [{"text": "The cat sat."}]}],
        tags=["animal"],
        forms=[{"form": "cats"}],
    )
