"""Telling every serving process that an active pointer moved (each worker's models_registry.listener hears it).

`notify_activation` runs inside the promote transaction. On PostgreSQL it is `pg_notify`, which the server
delivers only when the transaction commits (never for a rolled-back one), so the broadcast goes out after
commit by construction. On SQLite it does nothing: the listeners' poll finds the change.
"""

from __future__ import annotations

import json

from django.db import connection

CHANNEL = "atlas_model_activated"


def notify_activation(*, model_name: str, version_id: int) -> None:
    if connection.vendor != "postgresql":
        return
    payload = json.dumps({"model": model_name, "version_id": version_id})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])
