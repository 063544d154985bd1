"""One registration of a given model and version at a time, across processes and replicas.

The bytes are uploaded before the version's row exists, so two concurrent registrations of the same
model and version would overwrite each other's bytes. The first takes this lock (a PostgreSQL advisory
lock; on SQLite, which serves one host, an flock'ed file); the second fails at once with a clear error and
uploads nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


class RegistrationInProgress(Exception):
    pass


@contextmanager
def registration_lock(*, model_name: str, version: str) -> Iterator[None]:
    key = f"atlas-register:{model_name}:{version}"
    if connection.vendor == "postgresql":
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [number])
            if not cursor.fetchone()[0]:
                raise RegistrationInProgress(key)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [number])
        return
    folder = settings.VAR_DIR / "register-locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RegistrationInProgress(key) from None
        yield
