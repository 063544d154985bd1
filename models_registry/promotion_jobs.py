"""Promotions off the request: a job row, the promotion on a thread, progress polled over REST.

A sync worker answers in time only if the request does not fetch, hash and trial-load a large artifact
itself (gunicorn kills a worker after 60 s). `promotion_job_start` commits a `PromotionJob` row and runs
`services.model_version_promote` (the same fetch, sha256 gate, trial load, golden set and transaction) on
a thread of the process that took the request; the request answers 202 at once. The thread writes the
bytes fetched as they arrive (at most every PROGRESS_EVERY_SECONDS), then the outcome: `succeeded` with
the audit row, or `failed` with the refusal. A job whose process died (this host, pid gone) reads as
failed; on another host it stays `running` until that host's process writes again or is gone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

import psutil
from django.db import connection, transaction
from django.utils import timezone

from . import services
from .models import ModelVersion, PromotionJob
from .redaction import without_paths

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 0.5
OTHER_HOST_STALE_SECONDS = 600  # a job of another host not written to for this long no longer holds its version
LOST = (
    "The process running this promotion ended before it recorded an outcome; the model's history says whether "
    "it moved the pointer."
)


def promotion_job_start(
    *, version: ModelVersion, actor: str, reason: str = "", force_download: bool = False
) -> PromotionJob:
    """Record a promotion job and start it on a thread after the row commits; return the row.

    A version with an unfinished job (a double click, a retry after a timeout) gets that job back rather
    than a second fetch and trial load of the same bytes. Unfinished means queued or running in a live
    process of this host, or on another host written to within OTHER_HOST_STALE_SECONDS (its liveness
    cannot be checked from here)."""
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()  # serialises two starts
        unfinished = _unfinished_job(version=version, force_download=force_download)
        if unfinished is not None:
            return unfinished
        job = PromotionJob.objects.create(
            version=version,
            actor=actor[:150] or "unknown",
            reason=reason,
            force_download=force_download,
            bytes_total=version.size_bytes,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        transaction.on_commit(
            lambda: threading.Thread(target=_run, args=(job.pk,), name=f"atlas-promotion-{job.pk}", daemon=True).start()
        )
    return job


def _unfinished_job(*, version: ModelVersion, force_download: bool) -> PromotionJob | None:
    here = socket.gethostname()
    recent = timezone.now() - timedelta(seconds=OTHER_HOST_STALE_SECONDS)
    candidates = PromotionJob.objects.filter(
        version=version,
        force_download=force_download,
        state__in=(PromotionJob.State.QUEUED, PromotionJob.State.RUNNING),
    ).order_by("-id")
    for job in candidates:
        if job.host == here and psutil.pid_exists(job.pid):
            return job
        if job.host != here and job.updated_at >= recent:
            return job
    return None


def _run(job_id: int) -> None:
    try:
        job = PromotionJob.objects.select_related("version__model").get(pk=job_id)
        _update(job_id, state=PromotionJob.State.RUNNING)
        done = 0
        written_at = 0.0

        def progress(count: int) -> None:
            nonlocal done, written_at
            done += count
            now = time.monotonic()
            if now - written_at >= PROGRESS_EVERY_SECONDS:
                written_at = now
                try:
                    _update(job_id, bytes_done=done)
                except Exception:  # a progress write never stops the promotion
                    logger.exception("could not record the progress of promotion job %s", job_id)

        try:
            event = services.model_version_promote(
                version=job.version,
                actor=job.actor,
                reason=job.reason,
                force_download=job.force_download,
                progress=progress,
            )
        except services.RegistryError as exc:
            _finish(job_id, state=PromotionJob.State.FAILED, detail=str(exc))
            return
        except Exception as exc:  # the thread reports every failure in the row; nothing else sees it
            logger.exception("promotion job %s failed", job_id)
            _finish(job_id, state=PromotionJob.State.FAILED, detail=f"{type(exc).__name__}: {exc}")
            return
        # bytes_done stays 0 when the file was already in this replica's cache
        _finish(job_id, state=PromotionJob.State.SUCCEEDED, event=event, bytes_done=done)
    finally:
        connection.close()  # this thread's own connection


def _finish(job_id: int, **fields: Any) -> None:
    if "detail" in fields:
        fields["detail"] = without_paths(fields["detail"])[:4000]
    _update(job_id, **fields)


def _update(job_id: int, **fields: Any) -> None:
    PromotionJob.objects.filter(pk=job_id).update(**fields, updated_at=timezone.now())  # update() skips auto_now


def promotion_job_get(*, job_id: int) -> PromotionJob | None:
    """The job, with a job whose process is gone from this host read (and recorded) as failed."""
    job = PromotionJob.objects.select_related("version__model", "event").filter(pk=job_id).first()
    if job is None or job.state in (PromotionJob.State.SUCCEEDED, PromotionJob.State.FAILED):
        return job
    if job.host == socket.gethostname() and not psutil.pid_exists(job.pid):
        updated = PromotionJob.objects.filter(pk=job.pk, state=job.state).update(
            state=PromotionJob.State.FAILED, detail=LOST, updated_at=timezone.now()
        )
        if updated:
            job.state, job.detail = PromotionJob.State.FAILED, LOST
    return job
