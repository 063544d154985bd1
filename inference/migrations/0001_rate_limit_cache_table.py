"""The table of Django's database cache (atlas/cache.py), where the rate limits count without Redis: made by
`migrate`, so it exists wherever the service runs (make run, the tests, a release), whatever CACHES says then."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "atlas_cache"  # atlas.cache.TABLE, settings.CACHES' LOCATION


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0  # it would print "already exists" otherwise
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_table, drop_table)]
