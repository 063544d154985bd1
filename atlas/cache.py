"""Django's database cache with an atomic `incr`: the default home of the rate limits' counts without Redis,
shared by every worker and replica of one database.

Django's own `incr` is a `get` then a `set` (two workers incrementing at once lose a count), and the `set`
resets the key's expiry to the cache's default timeout (a one-minute window would last five). This one
reads and writes the row in one transaction holding it (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's
IMMEDIATE transactions, set in settings, serialise writers) and keeps its expiry. The table is created by a
migration (inference/migrations), so it exists wherever `migrate` ran.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, router, transaction
from django.utils.timezone import now

TABLE = "atlas_cache"


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table = quote(self._table)  # type: ignore[attr-defined]  # set by Django's BaseDatabaseCache
        value_column, key_column = quote("value"), quote("cache_key")
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        live_from = connection.ops.adapt_datetimefield_value(now().replace(microsecond=0))
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {value_column} FROM {table} WHERE {key_column} = %s AND {quote('expires')} > %s{lock}",
                [key, live_from],
            )
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(row[0].encode())) + delta  # Django's own format
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(f"UPDATE {table} SET {value_column} = %s WHERE {key_column} = %s", [encoded, key])
        return value
