"""The registry's metrics: a counter its code increments in each process (model loads that failed; the
artifact cache counts its own hits and misses), and a collector that reads deployment-wide series from the
database when `/metrics` is scraped.

The collector's series (`atlas_active_version_info`, `atlas_workers_serving`, `atlas_activations_total`,
`atlas_feedback_total`, `atlas_live_accuracy`)
come from the registry every replica shares, so every replica reports the same values: aggregate them
across replicas with max(), not sum(). `atlas_artifact_cache_bytes` is this replica's cache folder.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from . import artifact_cache, selectors

MODEL_LOAD_FAILURES = Counter(
    "atlas_model_load_failures_total",
    "Loads of a model version that failed in a worker (the worker kept its previous version).",
    ["model", "version"],
)


class RegistryCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        active = GaugeMetricFamily(
            "atlas_active_version_info",
            "The registry's active version of each model (value 1).",
            labels=["model", "version"],
        )
        for model, version in selectors.active_versions().items():
            if version is not None:
                active.add_metric([model, version], 1)
        yield active

        serving = GaugeMetricFamily(
            "atlas_workers_serving",
            "Live workers of every replica serving each model version (from their reports).",
            labels=["model", "version"],
        )
        for (model, version), count in selectors.workers_serving_counts().items():
            serving.add_metric([model, version], count)
        yield serving

        activations = CounterMetricFamily(
            "atlas_activations",
            "Moves of the active pointer and other audited actions, by model and action.",
            labels=["model", "action"],
        )
        for (model, action), count in selectors.activation_counts().items():
            activations.add_metric([model, action], count)
        yield activations

        feedback = CounterMetricFamily(
            "atlas_feedback",
            "Feedback received on each version's answers: `confirmed` (the answer was right) or `corrected`.",
            labels=["model", "version", "verdict"],
        )
        accuracy = GaugeMetricFamily(
            "atlas_live_accuracy",
            "Answers confirmed / feedback received, per version with feedback.",
            labels=["model", "version"],
        )
        for (model, version), (received, confirmed) in selectors.feedback_counts_by_name().items():
            feedback.add_metric([model, version, "confirmed"], confirmed)
            feedback.add_metric([model, version, "corrected"], received - confirmed)
            accuracy.add_metric([model, version], confirmed / received)
        yield feedback
        yield accuracy

        cache_bytes = GaugeMetricFamily("atlas_artifact_cache_bytes", "Bytes in this replica's artifact cache folder.")
        cache_bytes.add_metric([], sum(entry.size for entry in artifact_cache.entries()))
        yield cache_bytes
