"""Prometheus metrics of the serving processes, in prometheus-client's multiprocess mode.

Every gunicorn (or runserver, or granian) worker writes its counters to files in one folder per server
instance (chosen and exported as PROMETHEUS_MULTIPROC_DIR at start, before prometheus_client is imported:
atlas/startup.py); `GET /metrics` adds up the files of every worker of this replica and appends the series the
registry knows for the whole deployment (models_registry.metrics.RegistryCollector).

Which model and version answered a request is noted by `model_cache.get` in a context variable that
RequestContextMiddleware (atlas.http.request_context) opened for the request, which hands it to `observe`
when the request ends, so no view has to report it: a prediction is counted
under the version that produced it, and an answer that used two models (media analysis) counts for both.
"""

from __future__ import annotations

import hmac
import logging
import shutil

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


# (model, version, outcome) -> its two series. `labels()` validates and looks its arguments up under a lock on
# every call, which cost more than the two writes themselves on /predict's hot path; the series of a label set
# never change (nothing here removes one), so each is looked up once per process.
_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def _series_of(model: str, version: str, result: str) -> tuple[Counter, Histogram]:
    key = (model, version, result)
    series = _series.get(key)
    if series is None:
        series = _series[key] = (PREDICTIONS.labels(model, version, result), PREDICTION_SECONDS.labels(model, version))
    return series


def observe(pairs: list[Served], *, status: int, seconds: float) -> None:
    result = outcome(status)
    for model, version, rollout in dict.fromkeys(pairs) if len(pairs) > 1 else pairs:  # once per version, in order
        count, latency = _series_of(model, version, result)
        count.inc()
        latency.observe(seconds)
        if rollout is not None:
            rollouts.counts.request(rollout[0], rollout[1], error=status >= 500, seconds=seconds)


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
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(RegistryCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
