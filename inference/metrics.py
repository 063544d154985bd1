"""Prometheus metrics of the serving processes, in prometheus-client's multiprocess mode.

Every gunicorn (or runserver, or granian) worker writes its counters to files in one folder per server
instance (chosen and exported as PROMETHEUS_MULTIPROC_DIR at start, before prometheus_client is imported:
atlas/startup.py); `GET /metrics` adds up the files of every worker of this replica and appends the series the
registry knows for the whole deployment (models_registry.metrics.RegistryCollector).

Which model and version answered a request is noted by `model_cache.get` in a context variable that
RequestContextMiddleware (atlas.http.request_context) opened for the request, which hands it to `observe`
when the request ends, so no view has to report it: a prediction is counted
under the version that produced it, and an answer that used two models (media analysis) counts for both.

`observe` adds an answer to this worker's sums (a count, a sum of seconds and a count per bucket, for each
model, version and outcome) instead of writing the files: three locked writes a request were the largest
part of what the hot path added to a /predict (docs/PERFORMANCE.md). `flush` writes the sums, in one write
per series, as one `observe()` per answer would have: at the next answer once they are FLUSH_SECONDS old,
after every sync of the registry's listener (serving; whether or not the registry answered), before
`GET /metrics` reads the files, and when the process exits (serving's stop, multiprocessing's finalizer under
granian, atexit otherwise). A scrape may miss another worker's answers of the last poll interval (longer while
that worker's listener loads a model); a write that fails (the metrics folder's disk) is logged and its sums
are dropped.
"""

from __future__ import annotations

import atexit
import bisect
import hmac
import logging
import os
import shutil
import threading
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from atlas import startup
from atlas.http.request_context import Served
from atlas.http.request_context import current as current  # model_cache reads the canary's key here
from models_registry.metrics import RegistryCollector

from . import rollouts

logger = logging.getLogger(__name__)

# A prediction of /predict takes about a millisecond, a detection up to a few hundred.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

PREDICTIONS = Counter(
    "atlas_predictions_total",
    "Prediction requests answered, by the model version that answered and the outcome.",
    ["model", "version", "outcome"],
)
PREDICTION_SECONDS = Histogram(
    "atlas_prediction_seconds",
    "Time from the request's arrival to its answer, by the model version that answered.",
    ["model", "version"],
    buckets=LATENCY_BUCKETS,
)


def note_served(model: str, version: str, rollout: tuple[int, str] | None = None) -> None:
    """Called by model_cache.get: the request in progress is answered by this version (and, during a
    rollout, in this role: stable or candidate)."""
    scope = current.get()
    if scope is not None:
        scope.served.append((model, version, rollout))


def outcome(status: int) -> str:
    if status < 400:
        return "success"
    return "client_error" if status < 500 else "server_error"


FLUSH_SECONDS = 1.0  # the longest an answer waits in this worker's sums while answers keep coming

# (model, version, outcome) -> [answers, sum of their seconds, answers per bucket (the last: past every bound)]
Key = tuple[str, str, str]
_sums: dict[Key, list[float]] = {}
_sums_lock = threading.Lock()
_flushed_at = time.monotonic()


def observe(pairs: list[Served], *, status: int, seconds: float) -> None:
    result = outcome(status)
    bucket = 2 + bisect.bisect_left(LATENCY_BUCKETS, seconds)  # the first bound >= seconds, as prometheus counts
    answered = dict.fromkeys(pairs) if len(pairs) > 1 else pairs  # once per version, in order
    with _sums_lock:
        for model, version, _ in answered:
            sums = _sums.get((model, version, result))
            if sums is None:
                sums = _sums[(model, version, result)] = [0.0] * (3 + len(LATENCY_BUCKETS))
            sums[0] += 1
            sums[1] += seconds
            sums[bucket] += 1
    for _, _, rollout in answered:
        if rollout is not None:
            rollouts.counts.request(rollout[0], rollout[1], error=status >= 500, seconds=seconds)
    if time.monotonic() - _flushed_at >= FLUSH_SECONDS:
        flush()


def _forget_after_fork() -> None:
    """A forked child starts with no sums (the parent writes its own) and a lock no thread of the parent holds."""
    global _sums, _sums_lock
    _sums, _sums_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def pending_answers() -> int:
    """How many answers wait in this worker's sums (for tests)."""
    with _sums_lock:
        return int(sum(sums[0] for sums in _sums.values()))


def flush() -> None:
    """Write this worker's sums to prometheus-client's multiprocess files. Never raises."""
    global _sums, _flushed_at
    with _sums_lock:
        sums, _sums = _sums, {}
        _flushed_at = time.monotonic()
    try:
        for (model, version, result), (answers, total, *buckets) in sums.items():
            PREDICTIONS.labels(model, version, result).inc(answers)
            latency = PREDICTION_SECONDS.labels(model, version)
            # What Histogram.observe() writes, once per series instead of once per answer. prometheus-client has
            # no public call for it; tests/observability/test_metrics.py checks it against observe() itself.
            latency._sum.inc(total)
            for value, count in zip(latency._buckets, buckets, strict=True):
                if count:
                    value.inc(count)
    except Exception:  # metrics must never fail a request or a tick
        logger.exception("could not write %d metric series", len(sums))


atexit.register(flush)  # a process that exits without serving's stop (runserver, a plain gunicorn worker)


# --- GET /metrics ------------------------------------------------------------------------------------

_swept = False


def sweep_dead_instances() -> list[str]:
    """Delete the metric folders of server instances that are no longer running (folders are named
    `<pid>-<start time>` of the server's process; see atlas/startup.py)."""
    current = startup.metrics_folder()
    parent = current.path.parent
    if not current.per_server or not parent.is_dir():
        return []
    removed = []
    for folder in parent.iterdir():
        if folder == current.path or not folder.is_dir():
            continue
        pid, _, started = folder.name.partition("-")
        if pid.isdigit() and startup.process_start(int(pid)) == started:
            continue  # that server is still running
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


def _authorized(request: HttpRequest) -> JsonResponse | None:
    token = settings.METRICS_TOKEN
    if not token:
        return None
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return JsonResponse({"detail": "Send Authorization: Bearer $METRICS_TOKEN."}, status=401)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return JsonResponse({"detail": "Invalid metrics token."}, status=403)
    return None


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition of this replica's workers plus the registry's deployment-wide series."""
    refused = _authorized(request)
    if refused is not None:
        return refused
    global _swept
    if not _swept:
        _swept = True
        removed = sweep_dead_instances()
        if removed:
            logger.info("removed the metric folders of %d stopped servers", len(removed))
    flush()  # this worker's own sums; the other workers' are at most FLUSH_SECONDS behind
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(RegistryCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
