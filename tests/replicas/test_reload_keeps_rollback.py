"""Issue 25 §1: after a rollback, the deployment guide's "force re-download"
(`{"model_type": "all", "force_download": true}`) re-verifies what is active and moves no pointer, so the
rolled-back version stays on every worker (gunicorn, three workers, S3 on SeaweedFS)."""

from __future__ import annotations

import pytest
import requests

from models_registry import services
from models_registry.models import ActivationEvent, RegisteredModel
from tests.factories import write_digit_npz
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

MODEL = "digit_classifier"
TOKEN = "reload-admin-token"
PIXELS = {"pixels": [0.0] * 784}
pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_guides_force_redownload_after_a_rollback_keeps_the_rolled_back_version_on_every_worker(
    s3_settings, seaweedfs, start_replica, tmp_path
):
    # Given 1.4.0 and 1.5.0 in S3, 1.5.0 promoted and rolled back to 1.4.0
    v14 = services.model_version_register(
        model_name=MODEL,
        version="1.4.0",
        source=write_digit_npz(tmp_path / "a.npz", seed=1),
        runtime="numpy_mlp",
        actor="test",
    )
    v15 = services.model_version_register(
        model_name=MODEL, version="1.5.0", source=write_digit_npz(tmp_path / "b.npz", seed=2), actor="test"
    )
    services.model_version_promote(version=v14, actor="test")
    services.model_version_promote(version=v15, actor="test")
    services.model_rollback(model=RegisteredModel.objects.get(name=MODEL), actor="test")
    services.store_bookkeeping_wait()
    # And a replica of three workers, all serving 1.4.0
    replica = start_replica(
        workers=3,
        server="gunicorn",
        env={
            "ADMIN_TOKEN": TOKEN,
            "MODEL_STORAGE_TYPE": "s3",
            "S3_ENDPOINT_URL": seaweedfs.endpoint_url,
            "S3_ACCESS_KEY": seaweedfs.access_key,
            "S3_SECRET_KEY": seaweedfs.secret_key,
            "S3_REGION": seaweedfs.region,
            "S3_BUCKET": s3_settings.S3_BUCKET,
            "ATLAS_RELOAD_POLL_SECONDS": "0.2",
            "ATLAS_WORKER_HEARTBEAT_SECONDS": "0.5",
        },
    )
    pids = replica.worker_pids()
    assert len(pids) == 3
    wait_until(lambda: worker_versions(MODEL, pids) == dict.fromkeys(pids, "1.4.0"), timeout=60, what="all on 1.4.0")
    last_move = ActivationEvent.objects.order_by("-id").first()

    # When the guide's "force re-download" is sent
    response = requests.post(
        f"{replica.url}/api/v1/admin/reload-models",
        json={"model_type": "all", "force_download": True},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )

    # Then it reloaded 1.4.0, moved no pointer, and every worker still serves 1.4.0 after its next sync
    assert response.status_code == 200, response.text
    assert response.json()["results"][MODEL]["version"] == "1.4.0"
    assert RegisteredModel.objects.get(name=MODEL).active_version_id == v14.pk
    events = list(ActivationEvent.objects.filter(pk__gt=last_move.pk).values_list("action", "to_version"))
    assert events == [("reload", v14.pk)]
    synced_after = {r.pid: r.heartbeat_at for r in _reports(pids)}
    wait_until(
        lambda: all(r.heartbeat_at > synced_after[r.pid] for r in _reports(pids)),
        timeout=60,
        what="a heartbeat of every worker after the reload",
    )
    assert worker_versions(MODEL, pids) == dict.fromkeys(pids, "1.4.0")
    for _ in range(12):
        answer = requests.post(f"{replica.url}/predict", json=PIXELS, timeout=10).json()
        assert (answer["model"], answer["version"]) == (MODEL, "1.4.0")


def _reports(pids: set[int]):
    from models_registry.models import WorkerReport

    return list(WorkerReport.objects.filter(model__name=MODEL, pid__in=pids))
