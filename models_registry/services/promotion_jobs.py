"""Promotions off the request, on a task queue: the `PromotionJob` row is the public record (REST
/api/v1/registry/jobs/{id}/, the admin's Promotion jobs), and a django-tasks task on its database backend runs
it in the Procfile's `worker:` process (`manage.py db_worker --queue-name registry`).

The task runs `services.model_version_promote` (the same fetch, sha256 gate, trial load, golden set and
transaction as a request), writing the bytes fetched as they arrive, then `succeeded` with the audit row or
`failed` with the refusal. Liveness is a lease, never a process id: while the task runs it writes
`heartbeat_at` (with each progress write, and every third of ATLAS_JOB_LEASE_SECONDS from a timer thread).
An unfinished job is lost when its task has been claimed (or its task row is gone) and nothing was heard from
it for a lease; `promotion_jobs_reap`, which every read of jobs runs first, then fails it with that reason,
and fails its task row too: django-tasks' database backend has no lease of its own, so the task of a killed
worker would stay RUNNING for ever, and it never retries a task. A job that beats but runs longer than
ATLAS_JOB_MAX_SECONDS from its task's start (stuck in a download or a load) is failed the same way, with that
reason; its pointer move, if it ever comes, is refused by the job's guard.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResult, TaskResultStatus, task
from django_tasks.exceptions import TaskResultDoesNotExist
from django_tasks_db import DatabaseBackend

from .. import services
from ..errors import PromotionError
from ..models import ModelVersion, PromotionJob, RegisteredModel
from ..redaction import without_paths

logger = logging.getLogger(__name__)

QUEUE = "registry"
PROGRESS_EVERY_SECONDS = 0.5
UNFINISHED = (PromotionJob.State.QUEUED, PromotionJob.State.RUNNING)


class WorkerLost(Exception):
    """Recorded on the task row of a job whose worker stopped heartbeating (the library records none)."""


def promotion_job_start(
    *,
    version: ModelVersion,
    actor: str,
    reason: str = "",
    force_download: bool = False,
    kind: str = PromotionJob.Kind.PROMOTE,
    details: dict[str, Any] | None = None,
) -> PromotionJob:
    """Record a promotion job and enqueue its task; return the row.

    A version with an unfinished job (a double click, a retry after a timeout) gets that job back rather than a
    second fetch and trial load of the same bytes. The database backend writes the task row on this
    connection, so the job and its task commit together: no worker sees a task whose job is not there."""
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()  # serialises two starts
        # The pointer as it is now: the job moves it only from here, so a rollback meanwhile is never undone.
        expected_from = RegisteredModel.objects.filter(pk=version.model_id).values_list("active_version_id", flat=True)[
            0
        ]
        promotion_jobs_reap()
        unfinished = (
            PromotionJob.objects.filter(version=version, kind=kind, force_download=force_download, state__in=UNFINISHED)
            .order_by("-id")
            .first()
        )
        if unfinished is not None:
            return unfinished
        job = PromotionJob.objects.create(
            version=version,
            actor=actor[:150] or "unknown",
            reason=reason,
            force_download=force_download,
            bytes_total=version.size_bytes,
            expected_from_id=expected_from,
            kind=kind,
            details=details or {},
        )
        job.task_id = str(promotion_job_run.enqueue(job.pk).id)
        job.save(update_fields=["task_id"])
    return job


@task(queue_name=QUEUE)
def promotion_job_run(job_id: int) -> str:
    """Run promotion job `job_id` in this (worker) process; return the state it ended in."""
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"[:300]
    started = PromotionJob.objects.filter(pk=job_id, state=PromotionJob.State.QUEUED).update(
        state=PromotionJob.State.RUNNING, heartbeat_at=now, updated_at=now, worker=worker, detail=""
    )
    if not started:
        return "not queued"  # it was failed meanwhile; nothing runs twice
    job = PromotionJob.objects.select_related("version__model").get(pk=job_id)
    with _heartbeat(job_id):
        return _promote(job)


def _promote(job: PromotionJob) -> str:
    done = 0
    written_at = 0.0

    def progress(count: int) -> None:
        nonlocal done, written_at
        done += count
        now = time.monotonic()
        if now - written_at >= PROGRESS_EVERY_SECONDS:
            written_at = now
            _beat(job.pk, bytes_done=done)

    try:
        if job.kind == PromotionJob.Kind.RELOAD:  # the active version in place: the pointer never moves
            event = services.model_version_reload(
                version=job.version,
                actor=job.actor,
                reason=job.reason,
                force_download=job.force_download,
                details=job.details,
                progress=progress,
                guard=lambda: _still_running(job.pk),
            )
        else:
            event = services.model_version_promote(
                version=job.version,
                actor=job.actor,
                reason=job.reason,
                force_download=job.force_download,
                details=job.details,
                progress=progress,
                expected_from=job.expected_from_id,
                guard=lambda: _still_running(job.pk),
            )
    except services.RegistryError as exc:
        return _finish(job.pk, state=PromotionJob.State.FAILED, detail=str(exc))
    except Exception as exc:  # the job's row is where every failure is reported
        logger.exception("promotion job %s failed", job.pk)
        return _finish(job.pk, state=PromotionJob.State.FAILED, detail=f"{type(exc).__name__}: {exc}")
    # bytes_done stays 0 when the file was already in this worker's cache
    return _finish(job.pk, state=PromotionJob.State.SUCCEEDED, event=event, bytes_done=done)


def _still_running(job_id: int) -> None:
    """Inside the pointer's transaction: a job failed meanwhile (lost, its worker only stalled) moves nothing.
    The lock holds off the reaper until the move commits; the beat gives `_finish` a lease to record it."""
    if not PromotionJob.objects.select_for_update().filter(pk=job_id, state=PromotionJob.State.RUNNING).exists():
        raise PromotionError("This job was failed meanwhile (its worker was taken for lost); nothing was promoted.")
    _beat(job_id)


@contextmanager
def _heartbeat(job_id: int) -> Iterator[None]:
    """Beat every third of the lease while the body runs (a trial load reports no progress)."""
    stop = threading.Event()

    def beat_until_stopped() -> None:
        try:
            while not stop.wait(settings.ATLAS_JOB_LEASE_SECONDS / 3):
                _beat(job_id)
        finally:
            connection.close()  # this thread's own connection

    beating = threading.Thread(target=beat_until_stopped, name=f"atlas-job-{job_id}-heartbeat")
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()


def _beat(job_id: int, **fields: Any) -> None:
    now = timezone.now()
    try:
        PromotionJob.objects.filter(pk=job_id).update(heartbeat_at=now, updated_at=now, **fields)
    except Exception:  # a missed beat never stops the promotion; the lease allows for two
        logger.exception("could not record the heartbeat of promotion job %s", job_id)


def _finish(job_id: int, *, state: str, detail: str = "", **fields: Any) -> str:
    # Only a running job: a terminal state is never overwritten (a job failed as lost moved nothing, _still_running).
    now = timezone.now()
    PromotionJob.objects.filter(pk=job_id, state=PromotionJob.State.RUNNING).update(
        state=state, detail=without_paths(detail)[:4000], heartbeat_at=now, updated_at=now, **fields
    )
    return state


def job_max_seconds() -> float:
    """ATLAS_JOB_MAX_SECONDS, or when it is None (the default) two fetch deadlines and five minutes to load:
    read when used, so it follows a deployment's ATLAS_FETCH_DEADLINE_SECONDS."""
    configured: float | None = settings.ATLAS_JOB_MAX_SECONDS
    return 2 * settings.ATLAS_FETCH_DEADLINE_SECONDS + 300 if configured is None else configured


def promotion_jobs_reap() -> None:
    """Fail every unfinished job whose worker is lost: its task claimed (or gone) and no heartbeat for a lease;
    and every running job that ran longer than ATLAS_JOB_MAX_SECONDS.

    A queued job whose task is still waiting for a worker is not lost, however long it waits."""
    lease = timedelta(seconds=settings.ATLAS_JOB_LEASE_SECONDS)
    max_seconds = job_max_seconds()
    max_run = timedelta(seconds=max_seconds)
    now = timezone.now()
    for job in PromotionJob.objects.filter(state__in=UNFINISHED):
        result = _task_result(job.task_id)
        if job.state == PromotionJob.State.QUEUED and result is not None and result.status == TaskResultStatus.READY:
            if job.created_at < now - lease and not job.detail:  # say so: is a `worker:` process running?
                waiting = (
                    f"Waiting for a worker since {job.created_at.isoformat(timespec='seconds')}: no worker has "
                    "claimed its task (is the Procfile's `worker:` process running?)."
                )
                PromotionJob.objects.filter(pk=job.pk, state=PromotionJob.State.QUEUED).update(detail=waiting)
                job.detail = waiting
            continue
        began = (result.started_at if result is not None else None) or job.created_at
        if job.state == PromotionJob.State.RUNNING and began < now - max_run:
            detail = (
                f"Ran longer than ATLAS_JOB_MAX_SECONDS ({max_seconds:g} s) since "
                f"{began.isoformat(timespec='seconds')}: stuck in a download or a load; nothing was promoted."
            )
            _fail(job, detail, now=now)
            continue
        last = job.heartbeat_at or began
        if last >= now - lease:
            continue
        if result is not None and result.status == TaskResultStatus.FAILED and job.heartbeat_at is None:
            detail = f"Its task failed before the promotion started ({result.errors[-1].exception_class_path})."
        else:
            detail = (
                f"Worker lost: no heartbeat since {last.isoformat(timespec='seconds')} (the lease is "
                f"{settings.ATLAS_JOB_LEASE_SECONDS:g} s); the model's history says whether it moved the pointer."
            )
        _fail(job, detail, now=now)


def _fail(job: PromotionJob, detail: str, *, now: datetime) -> None:
    # Compare-and-set on the heartbeat read: a beat that lands meanwhile (the guard's, in the pointer's
    # transaction, among them) keeps the job alive until the next read.
    failed = PromotionJob.objects.filter(pk=job.pk, state=job.state, heartbeat_at=job.heartbeat_at).update(
        state=PromotionJob.State.FAILED, detail=detail, updated_at=now
    )
    if failed:
        logger.warning("promotion job %s: %s", job.pk, detail)
        _fail_task(job.task_id, detail)


def _task_result(task_id: str) -> TaskResult[Any] | None:
    backend = promotion_job_run.get_backend()
    if not task_id or not backend.supports_get_result:
        return None
    try:
        return backend.get_result(task_id)
    except TaskResultDoesNotExist:
        return None  # pruned (prune_db_task_results), or never written


def _fail_task(task_id: str, detail: str) -> None:
    if task_id and isinstance(promotion_job_run.get_backend(), DatabaseBackend):
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(id=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback=f"{WorkerLost.__qualname__}: {detail}",
        )


def promotion_job_get(*, job_id: int) -> PromotionJob | None:
    """The job, read after lost jobs are failed."""
    promotion_jobs_reap()
    return PromotionJob.objects.select_related("version__model", "event").filter(pk=job_id).first()
