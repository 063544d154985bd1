"""The poll: how workers learn of a promotion where there is no LISTEN/NOTIFY (SQLite), and the
safety net behind it on PostgreSQL. Here the poll alone must carry a promotion to every worker."""

from __future__ import annotations

import pytest
import requests

from models_registry import services
from tests.factories import write_digit_npz
from tests.servers.gunicorn import worker_versions
from tests.waiting import wait_until

MODEL = "digit_classifier"
pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_promotion_in_another_process_reaches_every_worker_by_polling(settings, start_replica, tmp_path):
    v1 = services.model_version_register(
        model_name="digit_classifier",
        version="1.0.0",
        source=write_digit_npz(tmp_path / "a.npz", seed=1),
        runtime="numpy_mlp",
        actor="test",
    )
    v2 = services.model_version_register(
        model_name="digit_classifier", version="2.0.0", source=write_digit_npz(tmp_path / "b.npz", seed=2)
    )
    services.model_version_promote(version=v1, actor="test")
    replica = start_replica(
        workers=2,
        env={
            "MODEL_STORAGE_PATH": str(settings.MODEL_STORE_DIR),
            "ATLAS_RELOAD_POLL_SECONDS": "0.25",
            "ATLAS_LISTEN_NOTIFY": "0",  # on PostgreSQL too, only the poll may carry it
        },
    )
    pids = replica.worker_pids()
    wait_until(
        lambda: worker_versions(MODEL, pids) == dict.fromkeys(pids, "1.0.0"),
        timeout=60,
        what="every worker on 1.0.0",
    )

    # When this process (not a worker of the replica) promotes 2.0.0
    services.model_version_promote(version=v2, actor="test")

    # Then every worker switches, and the replica answers with the new version
    wait_until(
        lambda: set(worker_versions(MODEL, pids).values()) == {"2.0.0"},
        timeout=15,
        what=f"every worker on 2.0.0: {worker_versions(MODEL, pids)}",
    )
    answer = requests.post(f"{replica.url}/predict", json={"pixels": [0.5] * 784}, timeout=10).json()
    assert answer["version"] == "2.0.0"
