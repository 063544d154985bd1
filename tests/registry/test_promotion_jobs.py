"""Promotion off the request: `Prefer: respond-async` answers 202 with a job polled to its end (issue 9,
case 6), run by a real task worker (`manage.py db_worker`, tests/servers/task_worker.py); a job whose worker
stops heartbeating for a lease is failed with the reason, whatever its process id (issue 24, item 4)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from models_registry.models import ModelVersion, PromotionJob, RegisteredModel
from models_registry.services import promotion_jobs
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ASYNC = {"HTTP_PREFER": "respond-async"}


@pytest.fixture
def client(settings):
    settings.ADMIN_TOKEN = "tok"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer tok")
    return api


def _finished(client, url: str) -> dict:
    def poll() -> dict | None:
        job = client.get(url).json()
        return job if job["state"] in ("succeeded", "failed") else None

    return wait_until(poll, timeout=30, what=f"promotion job {url} to finish")


def test_an_async_promotion_answers_202_and_its_job_ends_with_the_version_active(client, register, start_task_worker):
    start_task_worker()
    version = register("1.0.0")

    response = client.post(f"/api/v1/registry/versions/{version.pk}/promote/", {"reason": "r"}, format="json", **ASYNC)
    assert (response.status_code, response["Location"], response["Preference-Applied"]) == (
        202,
        f"/api/v1/registry/jobs/{response.json()['id']}/",
        "respond-async",
    )
    job = _finished(client, response["Location"])

    assert {k: job[k] for k in ("model", "version", "state", "bytes_done", "bytes_total", "detail", "reason")} == {
        "model": "answers",
        "version": "1.0.0",
        "state": "succeeded",
        "bytes_done": version.size_bytes,
        "bytes_total": version.size_bytes,
        "detail": "",
        "reason": "r",
    }
    assert (job["event"]["action"], job["event"]["to_version"]) == ("promote", "1.0.0")
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk


def test_an_async_promotion_that_is_refused_ends_failed_and_moves_nothing(client, register, start_task_worker):
    start_task_worker()
    good = register("1.0.0")
    client.post(f"/api/v1/registry/versions/{good.pk}/promote/", {}, format="json")
    bad = register("2.0.0", fail_warm_up=True)

    response = client.post(f"/api/v1/registry/versions/{bad.pk}/promote/", {}, format="json", **ASYNC)
    job = _finished(client, response["Location"])

    assert (job["state"], job["event"]) == ("failed", None)
    assert job["detail"] == "answers@2.0.0 failed to load or warm up: RuntimeError: warm-up forward pass failed"
    assert RegisteredModel.objects.get(name="answers").active_version_id == good.pk
    assert ModelVersion.objects.get(pk=bad.pk).status == ModelVersion.Status.FAILED


def test_the_admin_action_promotes_in_the_background_and_lists_the_job(admin_client, register, start_task_worker):
    # Given a superuser in the admin, a registered version and a task worker
    version = register("1.0.0")
    start_task_worker()

    # When they choose "Promote in the background"
    response = admin_client.post(
        reverse("admin:models_registry_modelversion_changelist"),
        {"action": "promote_in_background", "_selected_action": [version.pk]},
        follow=True,
    )

    # Then the page answers with the job's number, and the job ends with the version active
    job = PromotionJob.objects.get()
    assert [str(m) for m in response.context["messages"]] == [
        f"Promotion of answers@1.0.0 started (job {job.pk}); Promotion jobs shows its progress."
    ]
    wait_until(
        lambda: PromotionJob.objects.get(pk=job.pk).state == PromotionJob.State.SUCCEEDED, timeout=30, what="the job"
    )
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk
    listed = admin_client.get(reverse("admin:models_registry_promotionjob_changelist"))
    assert (listed.status_code, list(listed.context["cl"].result_list)) == (200, [job])


def test_reload_models_all_in_the_background_answers_202_with_a_job_per_model(client, register, start_task_worker):
    # Given two models with a version 2.0.0 each, and one without, and a task worker
    start_task_worker()
    first, second = register("2.0.0", model="first"), register("2.0.0", model="second")
    register("1.0.0", model="third")

    # When the old admin API is asked to reload them all, in the background
    response = client.post(
        "/api/v1/admin/reload-models", {"model_type": "all", "version": "2.0.0"}, format="json", **ASYNC
    )

    # Then it answers 202 at once, naming a job for each model that has the version
    body = response.json()
    jobs = {job.version.model.name: f"/api/v1/registry/jobs/{job.pk}/" for job in PromotionJob.objects.all()}
    assert (response.status_code, body["success"], body["model_type"], body["version"]) == (202, False, "all", "2.0.0")
    assert body["results"] == {
        "first": {
            "success": True,
            "version": "2.0.0",
            "message": f"promotion started: {jobs['first']}",
            "job": jobs["first"],
        },
        "second": {
            "success": True,
            "version": "2.0.0",
            "message": f"promotion started: {jobs['second']}",
            "job": jobs["second"],
        },
        "third": {"success": False, "version": None, "message": "third has no version '2.0.0'."},
    }
    assert [_finished(client, jobs[name])["state"] for name in ("first", "second")] == ["succeeded", "succeeded"]
    assert {m.name: m.active_version_id for m in RegisteredModel.objects.all()} == {
        "first": first.pk,
        "second": second.pk,
        "third": None,
    }


def _job_with_heartbeat(version, *, worker: str, seconds_ago: float) -> PromotionJob:
    """A job running since long ago whose worker last beat `seconds_ago`."""
    beat = timezone.now() - timedelta(seconds=seconds_ago)
    return PromotionJob.objects.create(
        version=version, actor="first", state=PromotionJob.State.RUNNING, worker=worker, heartbeat_at=beat
    )


def _gone_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_job_whose_heartbeat_expired_is_lost_though_its_worker_pid_is_alive(client, register, settings):
    # Given a job whose recorded worker is this very process (a new process that reused the dead worker's pid),
    # and whose heartbeat is one second older than the lease
    settings.ATLAS_JOB_LEASE_SECONDS = 60
    job = _job_with_heartbeat(register("1.0.0"), worker=f"{socket.gethostname()}:{os.getpid()}", seconds_ago=61)
    beat = PromotionJob.objects.get(pk=job.pk).heartbeat_at

    # When it is read
    answer = client.get(f"/api/v1/registry/jobs/{job.pk}/").json()

    # Then it is failed with the reason, the live pid notwithstanding
    assert (answer["state"], answer["detail"]) == (
        "failed",
        f"Worker lost: no heartbeat since {beat.isoformat(timespec='seconds')} (the lease is 60 s); "
        "the model's history says whether it moved the pointer.",
    )
    assert PromotionJob.objects.get(pk=job.pk).state == PromotionJob.State.FAILED


def test_a_job_that_beat_within_the_lease_is_alive_though_its_worker_pid_is_gone(client, register, settings):
    # Given a job whose recorded pid is gone, but whose heartbeat is within the lease
    settings.ATLAS_JOB_LEASE_SECONDS = 60
    version = register("1.0.0")
    job = _job_with_heartbeat(version, worker=f"{socket.gethostname()}:{_gone_pid()}", seconds_ago=30)

    # When the operator asks again for the version
    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)

    # Then the answer is that job, still running
    assert (response.status_code, response.json()["id"], response.json()["state"]) == (202, job.pk, "running")
    assert PromotionJob.objects.count() == 1


def test_a_second_async_promotion_of_a_version_whose_job_is_queued_answers_that_job(client, register, settings):
    # Given a job queued for a worker that has not come yet, for longer than a lease
    settings.ATLAS_JOB_LEASE_SECONDS = 1
    version = register("1.0.0")
    first = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC).json()
    PromotionJob.objects.filter(pk=first["id"]).update(created_at=timezone.now() - timedelta(hours=1))

    # When the operator asks again (a double click, a retry after a timeout)
    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)

    # Then the answer is the queued job (waiting is not lost), and no second task is enqueued
    assert (response.status_code, response.json()["id"], response.json()["state"]) == (202, first["id"], "queued")
    assert (PromotionJob.objects.count(), DBTaskResult.objects.count()) == (1, 1)


def test_a_lost_job_does_not_hold_back_a_new_promotion_of_its_version(client, register, start_task_worker):
    version = register("1.0.0")
    lost = _job_with_heartbeat(version, worker=f"{socket.gethostname()}:{os.getpid()}", seconds_ago=3600)
    start_task_worker()

    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)

    assert response.status_code == 202
    assert response.json()["id"] != lost.pk
    assert _finished(client, response["Location"])["state"] == "succeeded"
    assert PromotionJob.objects.get(pk=lost.pk).state == PromotionJob.State.FAILED


def test_a_worker_killed_mid_promotion_leaves_its_job_failed_with_the_reason(
    client, register, start_task_worker, settings, tmp_path
):
    # Given a worker with a 2 s lease promoting a version whose load waits for a file this test controls
    settings.ATLAS_JOB_LEASE_SECONDS = 2
    worker = start_task_worker(settings={"ATLAS_JOB_LEASE_SECONDS": 2.0})
    first = register("1.0.0")
    client.post(reverse("registry-version-promote", args=[first.pk]), {}, format="json")
    release = tmp_path / "release-the-load"
    version = register("2.0.0", wait_for=str(release))
    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)
    loading = tmp_path / "release-the-load.loading"
    wait_until(loading.exists, timeout=60, what=f"the worker to start loading the version\n{worker.log()}")

    # When the worker is killed mid-load, and the lease passes
    worker.kill()
    beat = PromotionJob.objects.get(pk=response.json()["id"]).heartbeat_at
    job = _finished(client, response["Location"])

    # Then the job is failed with the reason, its task too, and the pointer never moved
    assert (job["state"], job["event"], job["detail"]) == (
        "failed",
        None,
        f"Worker lost: no heartbeat since {beat.isoformat(timespec='seconds')} (the lease is 2 s); "
        "the model's history says whether it moved the pointer.",
    )
    task = DBTaskResult.objects.get(id=PromotionJob.objects.get(pk=job["id"]).task_id)
    assert (task.status, task.exception_class_path) == ("FAILED", "models_registry.services.promotion_jobs.WorkerLost")
    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk


def test_a_queued_job_whose_task_was_claimed_and_never_beat_is_lost(client, register, settings):
    # Given a job whose task a worker claimed a lease and a second ago, and which never wrote (the worker died
    # between claiming the task and starting the job)
    settings.ATLAS_JOB_LEASE_SECONDS = 60
    version = register("1.0.0")
    job_id = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC).json()[
        "id"
    ]
    claimed = timezone.now() - timedelta(seconds=61)
    task_id = PromotionJob.objects.get(pk=job_id).task_id
    DBTaskResult.objects.filter(id=task_id).update(status="RUNNING", started_at=claimed, worker_ids=["w"])

    # When it is read
    answer = client.get(f"/api/v1/registry/jobs/{job_id}/").json()

    # Then it is failed with the time of the claim
    assert (answer["state"], answer["detail"]) == (
        "failed",
        f"Worker lost: no heartbeat since {claimed.isoformat(timespec='seconds')} (the lease is 60 s); "
        "the model's history says whether it moved the pointer.",
    )
    assert DBTaskResult.objects.get(id=task_id).status == "FAILED"


def test_a_queued_job_whose_task_failed_before_it_started_is_failed_with_the_task_error(client, register, settings):
    # Given a job whose task the worker could not run (its code failed to import there), a lease ago
    settings.ATLAS_JOB_LEASE_SECONDS = 60
    version = register("1.0.0")
    job_id = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC).json()[
        "id"
    ]
    DBTaskResult.objects.filter(id=PromotionJob.objects.get(pk=job_id).task_id).update(
        status="FAILED", started_at=timezone.now() - timedelta(seconds=61), exception_class_path="builtins.ImportError"
    )

    # When it is read
    answer = client.get(f"/api/v1/registry/jobs/{job_id}/").json()

    # Then it is failed with the task's error
    assert (answer["state"], answer["detail"]) == (
        "failed",
        "Its task failed before the promotion started (builtins.ImportError).",
    )


def test_an_upload_with_activate_in_the_background_answers_202_and_its_job_activates_it(client, start_task_worker):
    # Given a task worker
    start_task_worker()

    # When a file is uploaded with activate and Prefer: respond-async
    response = client.post(
        "/api/v1/registry/versions/",
        {
            "model": "answers",
            "version": "1.0.0",
            "runtime": "json_answer",
            "file": SimpleUploadedFile("five.json", b'{"answer": 5}'),
            "activate": "true",
        },
        format="multipart",
        **ASYNC,
    )

    # Then the file is stored and registered, the answer is 202 with its job, and the job activates it
    version = ModelVersion.objects.get(model__name="answers", version="1.0.0")
    assert (response.status_code, response.json()["version"], response["Preference-Applied"]) == (
        202,
        "1.0.0",
        "respond-async",
    )
    job = _finished(client, response["Location"])
    assert (job["state"], job["reason"], job["event"]["to_version"]) == ("succeeded", "upload --activate", "1.0.0")
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk


def test_a_load_longer_than_the_lease_stays_alive_on_its_heartbeats(
    client, register, start_task_worker, settings, tmp_path
):
    # Given a worker with a 2 s lease promoting a version whose load waits for a file this test controls
    settings.ATLAS_JOB_LEASE_SECONDS = 2
    start_task_worker(settings={"ATLAS_JOB_LEASE_SECONDS": 2.0})
    release = tmp_path / "release-the-load"
    version = register("1.0.0", wait_for=str(release))
    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)
    job_id = response.json()["id"]
    started = wait_until(
        lambda: PromotionJob.objects.filter(pk=job_id, state="running").values_list("heartbeat_at", flat=True).first(),
        timeout=60,
        what="the job to start",
    )

    # When the load has lasted two leases (its heartbeat moved on past them)
    wait_until(
        lambda: PromotionJob.objects.get(pk=job_id).heartbeat_at >= started + timedelta(seconds=4),
        timeout=30,
        what="heartbeats for two leases",
    )

    # Then a read still finds it running, and once released it succeeds
    assert client.get(response["Location"]).json()["state"] == "running"
    release.touch()
    assert _finished(client, response["Location"])["state"] == "succeeded"
    assert RegisteredModel.objects.get(name="answers").active_version_id == version.pk


def test_a_job_queued_before_a_rollback_does_not_undo_it(client, register, start_task_worker):
    # Given 1.0.0 then 2.0.0 active, and a promotion of 3.0.0 queued while no worker runs
    first, second, third = register("1.0.0"), register("2.0.0"), register("3.0.0")
    for version in (first, second):
        client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json")
    response = client.post(reverse("registry-version-promote", args=[third.pk]), {}, format="json", **ASYNC)

    # When the operator rolls back to 1.0.0, and then a worker comes and runs the job
    assert client.post("/api/v1/registry/models/answers/rollback/", {}, format="json").status_code == 200
    start_task_worker()
    job = _finished(client, response["Location"])

    # Then the job is refused with the reason, and 1.0.0 stays active
    assert (job["state"], job["event"], job["detail"]) == (
        "failed",
        None,
        "the active version changed since this job was queued: answers was at 2.0.0 and is now at 1.0.0; "
        "nothing was promoted.",
    )
    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk


def test_a_job_failed_as_lost_while_its_worker_stalled_never_moves_the_pointer(
    client, register, start_task_worker, settings, tmp_path
):
    # Given a worker with a 2 s lease promoting 2.0.0, whose load waits for a file this test controls
    settings.ATLAS_JOB_LEASE_SECONDS = 2
    worker = start_task_worker(settings={"ATLAS_JOB_LEASE_SECONDS": 2.0})
    first = register("1.0.0")
    client.post(reverse("registry-version-promote", args=[first.pk]), {}, format="json")
    release = tmp_path / "release-the-load"
    version = register("2.0.0", wait_for=str(release))
    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)
    wait_until((tmp_path / "release-the-load.loading").exists, timeout=60, what=f"the load\n{worker.log()}")

    # When the worker stalls past the lease (its job is failed as lost), then resumes and finishes the load
    os.killpg(worker.process.pid, signal.SIGSTOP)
    try:
        lost = _finished(client, response["Location"])
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)
    release.touch()
    task_id = PromotionJob.objects.get(pk=lost["id"]).task_id
    wait_until(
        lambda: DBTaskResult.objects.get(id=task_id).status == "SUCCESSFUL",
        timeout=60,
        what=f"the stalled task to return\n{worker.log()}",
    )

    # Then the job stays failed as lost, and 1.0.0 stays active
    job = PromotionJob.objects.get(pk=lost["id"])
    assert (lost["state"], job.state, job.detail, job.event_id) == ("failed", "failed", lost["detail"], None)
    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk


def test_a_job_that_beats_but_runs_past_its_maximum_is_failed_with_the_reason_and_moves_nothing(
    client, register, start_task_worker, settings, tmp_path
):
    # Given 1.0.0 active, and a job promoting 2.0.0 whose load hangs (until this test releases it) while its
    # worker keeps beating within the 60 s lease
    settings.ATLAS_JOB_MAX_SECONDS = 2
    worker = start_task_worker()
    first = register("1.0.0")
    client.post(reverse("registry-version-promote", args=[first.pk]), {}, format="json")
    release = tmp_path / "release-the-load"
    version = register("2.0.0", wait_for=str(release))
    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)
    wait_until((tmp_path / "release-the-load.loading").exists, timeout=60, what=f"the load\n{worker.log()}")

    # When it is read after running longer than its maximum
    failed = _finished(client, response["Location"])

    # Then it is failed with the reason, its task too, and once the load returns nothing moves
    started = DBTaskResult.objects.get(id=PromotionJob.objects.get(pk=failed["id"]).task_id).started_at
    assert (failed["state"], failed["detail"]) == (
        "failed",
        f"Ran longer than ATLAS_JOB_MAX_SECONDS (2 s) since {started.isoformat(timespec='seconds')}: stuck in a "
        "download or a load; nothing was promoted.",
    )
    task_id = PromotionJob.objects.get(pk=failed["id"]).task_id
    assert DBTaskResult.objects.get(id=task_id).status == "FAILED"
    release.touch()
    wait_until(
        lambda: DBTaskResult.objects.get(id=task_id).status == "SUCCESSFUL",
        timeout=60,
        what=f"the released task to return\n{worker.log()}",
    )
    job = PromotionJob.objects.get(pk=failed["id"])
    assert (job.state, job.detail, job.event_id) == ("failed", failed["detail"], None)
    assert RegisteredModel.objects.get(name="answers").active_version_id == first.pk


def test_reload_models_of_the_active_version_in_the_background_is_a_reload_job(client, register, start_task_worker):
    # Given 1.0.0 active and a task worker
    version = register("1.0.0")
    client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json")
    start_task_worker()

    # When the active version is reloaded (no version), in the background
    response = client.post("/api/v1/admin/reload-models", {"model_type": "answers"}, format="json", **ASYNC)

    # Then it answers 202 naming a reload job, which the worker runs to a reload of 1.0.0
    job = PromotionJob.objects.get()
    url = f"/api/v1/registry/jobs/{job.pk}/"
    assert (response.status_code, response.json()["results"]["answers"]) == (
        202,
        {"success": True, "version": "1.0.0", "message": f"reload started: {url}", "job": url},
    )
    finished = _finished(client, url)
    assert (finished["kind"], finished["state"], finished["event"]["action"]) == ("reload", "succeeded", "reload")
    assert finished["event"]["to_version"] == "1.0.0"


def test_a_job_whose_task_no_worker_claimed_for_a_lease_says_it_is_waiting_for_a_worker(client, register, settings):
    # Given a job queued a lease and a second ago, with no worker running
    settings.ATLAS_JOB_LEASE_SECONDS = 60
    version = register("1.0.0")
    job_id = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC).json()[
        "id"
    ]
    queued = timezone.now() - timedelta(seconds=61)
    PromotionJob.objects.filter(pk=job_id).update(created_at=queued)

    # When it is read
    answer = client.get(f"/api/v1/registry/jobs/{job_id}/").json()

    # Then it is still queued, and says since when it waits for a worker
    assert (answer["state"], answer["detail"]) == (
        "queued",
        f"Waiting for a worker since {queued.isoformat(timespec='seconds')}: no worker has claimed its task "
        "(is the Procfile's `worker:` process running?).",
    )


def test_admin_health_gives_the_oldest_queued_jobs_age(client, register):
    # Given two jobs queued, the older one an hour ago
    first, second = register("1.0.0"), register("2.0.0")
    for version in (first, second):
        client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)
    PromotionJob.objects.filter(version=first).update(created_at=timezone.now() - timedelta(hours=1))

    jobs = client.get("/api/v1/admin/health").json()["jobs"]

    assert (jobs["queued"], 3600 <= jobs["oldest_queued_seconds"] < 3660) == (2, True)


def _running_for(version, seconds: float) -> PromotionJob:
    """A job whose task row is gone, running for `seconds`, its worker beating now."""
    job = PromotionJob.objects.create(
        version=version, actor="first", state=PromotionJob.State.RUNNING, heartbeat_at=timezone.now()
    )
    PromotionJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    return job


def test_a_raised_fetch_deadline_raises_the_jobs_maximum_a_job_within_it_keeps_running(register, settings):
    # Given a deployment that raises only the fetch deadline (docs/OPERATIONS.md's example): 2 x 900 + 300 s
    settings.ATLAS_FETCH_DEADLINE_SECONDS = 900.0
    job = _running_for(register("1.0.0"), 1000)

    promotion_jobs.promotion_jobs_reap()

    assert PromotionJob.objects.get(pk=job.pk).state == PromotionJob.State.RUNNING


def test_a_job_past_the_maximum_its_fetch_deadline_gives_is_failed_naming_it(register, settings):
    settings.ATLAS_FETCH_DEADLINE_SECONDS = 900.0
    job = _running_for(register("1.0.0"), 2200)

    promotion_jobs.promotion_jobs_reap()

    job.refresh_from_db()
    assert (job.state, job.detail.split(" since ")[0]) == ("failed", "Ran longer than ATLAS_JOB_MAX_SECONDS (2100 s)")
