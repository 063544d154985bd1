"""A promotion job enqueued before the move to services/ (issue 27) still runs after it: migration 0012
rewrites the task path django-tasks stored, and the new path names the task."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from models_registry.services.promotion_jobs import promotion_job_run

pytestmark = pytest.mark.django_db

move = importlib.import_module("models_registry.migrations.0012_promotion_jobs_task_path")


def queued(task_path: str) -> DBTaskResult:
    return DBTaskResult.objects.create(
        args_kwargs={"args": [1], "kwargs": {}},
        task_path=task_path,
        queue_name="registry",
        backend_name="default",
        run_after=timezone.now(),
    )


def test_a_job_queued_under_the_old_path_names_the_task_after_the_migration():
    row = queued(move.OLD)

    move.forwards(apps, None)

    row.refresh_from_db()
    assert row.task.func is promotion_job_run.func


def test_the_migration_leaves_other_tasks_alone():
    row = queued("somewhere.else.task")

    move.forwards(apps, None)

    row.refresh_from_db()
    assert row.task_path == "somewhere.else.task"


def test_a_job_an_old_web_process_enqueues_after_the_migration_names_the_task():
    row = queued(move.OLD)  # a web process of the release before, during a rolling deploy

    assert row.task.func is promotion_job_run.func
