"""settings.ATLAS_STORES is the one list of stores: get_store builds what it names, STORAGE_KINDS follows it."""

from __future__ import annotations

import pytest

from models_registry.storage import STORAGE_KINDS, StorageError, get_store
from models_registry.storage.local import LocalStore


class ArchiveStore(LocalStore):
    """A store added by one settings line (a folder, for the test)."""

    kind = "archive"


def test_a_store_named_in_the_setting_is_built_and_listed(settings, tmp_path):
    # Given a fourth store added by one line
    settings.MODEL_STORE_DIR = tmp_path / "store"
    settings.ATLAS_STORES = {**settings.ATLAS_STORES, "archive": f"{__name__}.ArchiveStore"}

    # When it is asked for by name, then that class is built once, and the names list it
    assert type(get_store("archive")) is ArchiveStore
    assert get_store("archive") is get_store("archive")
    assert list(STORAGE_KINDS) == ["local", "s3", "hf", "archive"]


def test_an_unknown_store_names_the_stores_of_the_setting(settings):
    # Given the default stores, when one that is not there is asked for, then the error lists them
    with pytest.raises(StorageError) as caught:
        get_store("ftp")
    assert str(caught.value) == "Unknown storage 'ftp'; use one of local, s3, hf."
