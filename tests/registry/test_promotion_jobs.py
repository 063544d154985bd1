"""Promotion off the request: `Prefer: respond-async` answers 202 with a job polled to its end (issue 9,
case 6)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from models_registry.models import ModelVersion, PromotionJob, RegisteredModel
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


def test_an_async_promotion_answers_202_and_its_job_ends_with_the_version_active(client, register):
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


def test_an_async_promotion_that_is_refused_ends_failed_and_moves_nothing(client, register):
    good = register("1.0.0")
    client.post(f"/api/v1/registry/versions/{good.pk}/promote/", {}, format="json")
    bad = register("2.0.0", fail_warm_up=True)

    response = client.post(f"/api/v1/registry/versions/{bad.pk}/promote/", {}, format="json", **ASYNC)
    job = _finished(client, response["Location"])

    assert (job["state"], job["event"]) == ("failed", None)
    assert job["detail"] == "answers@2.0.0 failed to load or warm up: RuntimeError: warm-up forward pass failed"
    assert RegisteredModel.objects.get(name="answers").active_version_id == good.pk
    assert ModelVersion.objects.get(pk=bad.pk).status == ModelVersion.Status.FAILED


def test_a_job_whose_process_is_gone_from_this_host_reads_as_failed(client, register):
    version = register("1.0.0")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    job = PromotionJob.objects.create(
        version=version, actor="a", state=PromotionJob.State.RUNNING, host=socket.gethostname(), pid=gone.pid
    )

    answer = client.get(f"/api/v1/registry/jobs/{job.pk}/").json()

    assert (answer["state"], answer["detail"]) == (
        "failed",
        "The process running this promotion ended before it recorded an outcome; the model's history says whether "
        "it moved the pointer.",
    )


def test_the_admin_action_promotes_in_the_background_and_lists_the_job(admin_client, register):
    # Given a superuser in the admin and a registered version
    version = register("1.0.0")

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


def test_reload_models_all_in_the_background_answers_202_with_a_job_per_model(client, register):
    # Given two models with a version 2.0.0 each, and one without
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


def test_a_second_async_promotion_of_a_version_whose_job_is_unfinished_answers_that_job(client, register):
    # Given a job of this version still running in a live process of this host (this one)
    version = register("1.0.0")
    running = PromotionJob.objects.create(
        version=version, actor="first", state=PromotionJob.State.RUNNING, host=socket.gethostname(), pid=os.getpid()
    )

    # When the operator asks again (a double click, a retry after a timeout)
    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)

    # Then the answer is the running job, and no second fetch and trial load starts
    assert response.status_code == 202
    assert response.json()["id"] == running.pk
    assert PromotionJob.objects.count() == 1


def test_a_lost_job_does_not_hold_back_a_new_promotion_of_its_version(client, register):
    version = register("1.0.0")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    PromotionJob.objects.create(
        version=version, actor="first", state=PromotionJob.State.RUNNING, host=socket.gethostname(), pid=gone.pid
    )

    response = client.post(reverse("registry-version-promote", args=[version.pk]), {}, format="json", **ASYNC)

    assert response.status_code == 202
    assert _finished(client, response["Location"])["state"] == "succeeded"
    assert PromotionJob.objects.count() == 2
