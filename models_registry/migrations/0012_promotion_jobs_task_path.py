"""The promotion job's task moved from models_registry/promotion_jobs.py to models_registry/services/ (issue 27).

A job enqueued before the deploy names the old path in django-tasks' table; the worker would fail it with
"does not point to a Task". The move rewrites those rows, so a promotion queued across the deploy still runs.
"""

from django.db import migrations

OLD = "models_registry.promotion_jobs.promotion_job_run"
NEW = "models_registry.services.promotion_jobs.promotion_job_run"


def forwards(apps, schema_editor):
    apps.get_model("django_tasks_database", "DBTaskResult").objects.filter(task_path=OLD).update(task_path=NEW)


def backwards(apps, schema_editor):
    apps.get_model("django_tasks_database", "DBTaskResult").objects.filter(task_path=NEW).update(task_path=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0011_promotion_job_kind_and_details"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
