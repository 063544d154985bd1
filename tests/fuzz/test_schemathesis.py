"""Schemathesis over Atlas' own schema (/api/schema/): every operation, without and with the admin token,
a fixed seed and a bounded number of examples. No answer may be a 5xx or break its documented schema.

The service runs in-process as its WSGI application (atlas.wsgi: the chunked-body layer included), on
the test database, with the four demo models registered and active (manage.py seed_demo), so the
prediction endpoints answer from real models instead of 503.
"""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TOKEN = "fuzz-admin-token"
EXAMPLES = 25  # per operation and identity: about 2,500 requests, 1-2 minutes on two cores
SEED = 20261203
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def fuzz(operation, headers: dict[str, str], statuses: Counter[int], failures: list[str]) -> None:
    """Send EXAMPLES generated requests to one operation as one identity; collect statuses and failures."""

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case) -> None:
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # every failure is collected and reported at the end
            who = "token" if "Authorization" in headers else "anonymous"
            failures.append(f"{operation.label} ({who}) -> {response.status_code}: {exc}"[:1500])

    run()


def test_no_operation_answers_a_5xx_or_breaks_its_schema(settings_fixture, tmp_path):
    from atlas.wsgi import application
    from inference import model_cache

    call_command("seed_demo", stdout=StringIO())
    # as a serving process starts: every active version loaded, so that readiness (/v2/health/ready) is true
    loaded = model_cache.preload()
    assert sorted(loaded) == ["audio_classifier", "digit_classifier", "threat_classifier", "visual_detector"]
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    for operation in operations:
        # identity: the WSGI client does not undo the gzip large answers get (atlas.http.middleware)
        for headers in (
            {"Accept-Encoding": "identity"},
            {"Accept-Encoding": "identity", "Authorization": f"Bearer {TOKEN}"},
        ):
            fuzz(operation, headers, statuses, failures)

    summary = {
        "operations": len(operations),
        "requests": sum(statuses.values()),
        "5xx": sum(n for code, n in statuses.items() if code >= 500),
        "statuses": dict(sorted(statuses.items())),
    }
    print("SCHEMATHESIS", json.dumps(summary))
    assert failures == [], "\n\n".join(failures[:20])
    assert summary["5xx"] == 0
    assert summary["operations"] >= 30


@pytest.fixture
def settings_fixture(settings):
    settings.ADMIN_TOKEN = TOKEN
    return settings
