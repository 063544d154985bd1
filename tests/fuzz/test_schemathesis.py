"""Schemathesis over Atlas' own schema (/api/schema/): the schema is the truth about every answer.

Every operation, with the admin token, through schemathesis' own engine (as `st run` drives it): its coverage
phase (deterministic: each parameter's and field's boundaries, missing and wrong-typed values, undeclared
methods) and a few fuzzed examples, from a fixed seed. Every check that compares an answer with the schema
runs: no 5xx, status codes, content types, headers and bodies as documented, a schema-valid request accepted
(ST202), a schema-violating one refused (ST201), 405 with an Allow that matches the schema (ST204, ST205).
`ignored_auth` is left out: every request carries the token, so its "invalid credentials" cases carry a valid
one (tests/security/test_deny_by_default.py checks who may call what).

Where a valid request is refused for a reason a schema cannot express (the bytes of an image that is not
one, a signature that does not verify, a registry state such as "already active"), the operation allows that
status for the positive-data check, each with its reason below; nothing else is allowed.

The service runs in-process as its WSGI application (atlas.wsgi: the body limits included), on the test
database, with the four demo models registered and active (manage.py seed_demo) and loaded.
"""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from django.db import connections
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

pytestmark = [pytest.mark.django_db(transaction=True, reset_sequences=True), pytest.mark.slow]

TOKEN = "fuzz-admin-token"
SEED = 20261207
FUZZED = 1  # fuzzed examples per operation, after the coverage phase's own cases

_IMAGE = "the file's bytes must be an image (or WAV) its decoder reads"
_PIXELS = "an octet-stream body is 784 little-endian float32 (3,136 bytes) or an image the decoder reads"
_STATE = "the registry's state decides (no earlier version, the version is active, not trusted yet)"
_DUPLICATE = "the row already exists (Hippo's 400 naming the `duplicates`)"
_SELF = "a word cannot relate to itself"
_PREDICTION = "the feedback must name a prediction Atlas recorded (its request_id, or its model version and answer)"
# Refusals of valid requests that a schema cannot express: (operation, statuses, why).
CANNOT_EXPRESS: list[tuple[str, list[str], str]] = [
    ("POST /api/v1/detect", ["400", "415"], _IMAGE),
    ("POST /api/v1/audio/classify", ["400", "415"], _IMAGE),
    ("POST /api/v1/analyze/media", ["400", "415"], _IMAGE),
    ("POST /predict", ["400"], _PIXELS),
    ("POST /activations", ["400"], _PIXELS),
    ("POST /v1/predict", ["422"], _PIXELS),
    ("POST /v1/activations", ["422"], _PIXELS),
    ("POST /api/v1/classify/threat", ["400"], "`data`'s shape follows `type` (text, detections or audio)"),
    ("POST /api/v1/admin/reload-models", ["400"], "model_type must name a registered model (or an alias)"),
    ("POST /api/v1/registry/models/{name}/rollback/", ["422"], _STATE),
    ("POST /api/v1/registry/models/{name}/rollout/", ["400"], "the version must be one of the model's"),
    ("POST /api/v1/registry/versions/", ["400", "422"], "the file must be a model its runtime loads"),
    ("POST /api/v1/registry/versions/{id}/retire/", ["422"], _STATE),
    ("POST /api/v1/registry/versions/{id}/sign/", ["422"], "the signature must verify with a trusted key"),
    ("POST /v1/dictionary/relations", ["400", "422"], f"{_SELF}; {_DUPLICATE}"),
    ("POST /vocabulary/word-relations", ["400", "422"], f"{_SELF}; {_DUPLICATE}"),
    ("POST /api/v1/training/feedback", ["422"], _PREDICTION),
    ("POST /api/v1/sait/feedback", ["422"], _PREDICTION),
    ("POST /vocabulary/tags", ["400"], _DUPLICATE),
    ("PATCH /vocabulary/tags/{tag_id}", ["400"], _DUPLICATE),
    ("POST /v1/dictionary/tags", ["400"], _DUPLICATE),
    ("PATCH /v1/dictionary/tags/{tag_id}", ["400"], _DUPLICATE),
    ("POST /v1/dictionary/words", ["400"], f"{_DUPLICATE}, or given twice in the list; a list holds one word or more"),
    (
        "PATCH /v1/dictionary/words/{word_id}",
        ["400", "422"],
        f"{_DUPLICATE}; a definition's `id` must be one of the word's (a 422 naming it)",
    ),
    ("POST /vocabulary/words", ["400"], _DUPLICATE),
    ("PATCH /vocabulary/words/{word_id}", ["400"], _DUPLICATE),
    ("POST /vocabulary/definitions", ["400"], _DUPLICATE),
    ("PATCH /vocabulary/definitions/{definition_id}", ["400"], _DUPLICATE),
    ("POST /v1/dictionary/words/{word_id}/definitions", ["400"], _DUPLICATE),
    ("PATCH /v1/dictionary/definitions/{definition_id}", ["400"], _DUPLICATE),
]
# Where the service takes more than the schema says, by check and operation, each with why (issue 29, item 5
# struck eleven of its twelve off). One listed here lets the run pass with it; the run prints each one that went
# away.
KNOWN: set[tuple[str, str]] = {
    # the numbers of a detection take a number's text and a boolean, as the old service's lax pydantic did
    # (docs/COMPATIBILITY.md, SAIT): the schema documents the JSON number its devices send
    ("ST201", "POST /api/v1/sait/verify"),
}


def config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "identity"},
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "generation": {"max-examples": FUZZED, "deterministic": True, "database": "none"},
            "checks": {"ignored_auth": {"enabled": False}},
            "workers": 1,
            "operations": [
                {
                    "include-name": name,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "429", *statuses]
                        }
                    },
                }
                for name, statuses, _ in CANNOT_EXPRESS
            ],
        }
    )


def run(application) -> tuple[list[str], Counter[str], int]:
    """Every operation through the engine: (failures as 'CODE METHOD PATH -> status: title', per code, checks)."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=config())
    failures: set[str] = set()
    checks = 0
    examples: dict[str, str] = {}
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for results in event.recorder.checks.values():
                for check in results:
                    checks += 1
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        status = getattr(failure, "status_code", None)
                        failures.add(f"{failure.code} {event.recorder.label} -> {status}: {failure.title}")
                        examples.setdefault(
                            f"{failure.code} {event.recorder.label} -> {status}: {failure.title}",
                            f"{failure.message[:300]} | {check.failure_info.code_sample[:400]}",
                        )
        elif isinstance(event, events.NonFatalError):  # an operation schemathesis could not test
            failures.add(f"ERROR {event.label}: {event.value!r}"[:300])
        elif isinstance(event, events.FatalError):
            raise AssertionError(f"schemathesis stopped: {event.exception!r}")
    per_code = Counter(failure.split(" ", 1)[0] for failure in failures)
    for failure in sorted(failures):  # what failed, and one request that shows it
        print(failure, "\n   ", examples.get(failure, ""))
    return sorted(failures), per_code, checks


def test_every_answer_is_what_the_schema_says(settings, monkeypatch):
    from atlas.wsgi import application
    from inference import model_cache

    settings.ADMIN_TOKEN = TOKEN
    # the engine calls the application from a thread of its own: each request closes its connection at its
    # end (as a server's does with CONN_MAX_AGE=0), so none is left open on the test database
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    call_command("seed_demo", stdout=StringIO())
    # as a serving process starts: every active version loaded, so that readiness (/v2/health/ready) is true
    assert sorted(model_cache.preload()) == [
        "audio_classifier",
        "digit_classifier",
        "threat_classifier",
        "visual_detector",
    ]

    failures, per_code, checks = run(application)

    print("SCHEMATHESIS", json.dumps({"checks": checks, "failures": dict(per_code)}))
    found = {(failure.split(" ")[0], " ".join(failure.split(" ")[1:3])) for failure in failures}
    print("fixed since listed:", sorted(KNOWN - found))
    assert sorted(found - KNOWN) == []
    assert checks > 10_000
