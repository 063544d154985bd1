"""Promotions through the admin API while load runs, and what the answers say about them.

- `promote()`: POST /api/v1/admin/reload-models {"model_type", "version"} with the admin token; times the
  call on the wall clock (time.time(), the clock the workers' PostgreSQL timestamps use on this host).
- `wait_switched()`: polls the WorkerReport rows (which version each worker (host, pid) serves, and
  `loaded_at`, written by the worker the moment it swapped its reference) until every given worker serves
  the target version, bounded in time; returns each worker's switch time after the call was sent.
- `judge()`: splits the load generator's per-request records by those promotions: answers that are not
  200, answers naming a version other than the active one outside a switch window (the window of
  promotion k runs from its call to its last worker's switch), and latency in steady state vs during swaps.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from bench.world import ADMIN_TOKEN, http, percentiles, wait_until

MODEL = "digit_classifier"


@dataclass
class Promotion:
    version: str
    version_id: int
    via: str
    t_call: float = 0.0
    t_answer: float = 0.0
    status: int = 0
    answer: dict | str = ""
    worker_switch_s: dict = field(default_factory=dict)  # pid -> seconds from the call to its swap
    t_last_switch: float = 0.0

    @property
    def call_s(self) -> float:
        return self.t_answer - self.t_call

    @property
    def last_switch_s(self) -> float:
        return self.t_last_switch - self.t_call


def promote(url: str, *, version: str, version_id: int) -> Promotion:
    promotion = Promotion(version=version, version_id=version_id, via=url)
    promotion.t_call = time.time()
    promotion.status, promotion.answer = http(
        "POST",
        url + "/api/v1/admin/reload-models",
        body={"model_type": MODEL, "version": version},
        token=ADMIN_TOKEN,
        timeout=120,
    )
    promotion.t_answer = time.time()
    if promotion.status != 200:
        raise RuntimeError(f"reload to {version} via {url} answered {promotion.status}: {promotion.answer}")
    return promotion


def wait_switched(promotion: Promotion, pids: list[int], *, timeout: float = 20.0) -> Promotion:
    from models_registry.models import WorkerReport

    def switched():
        rows = WorkerReport.objects.filter(model__name=MODEL, pid__in=pids).values_list(
            "pid", "version_id", "loaded_at"
        )
        seen = {pid: (vid, at.timestamp() if at else 0.0) for pid, vid, at in rows}
        done = all(
            pid in seen and seen[pid][0] == promotion.version_id and seen[pid][1] >= promotion.t_call - 1e-3
            for pid in pids
        )
        return seen if done else None

    seen = wait_until(switched, timeout=timeout, interval=0.01, what=f"{len(pids)} workers on {promotion.version}")
    promotion.worker_switch_s = {pid: round(seen[pid][1] - promotion.t_call, 4) for pid in pids}
    promotion.t_last_switch = max(seen[pid][1] for pid in pids)
    return promotion


def run_promotions(
    urls: list[str], versions: list[tuple[str, int]], pids: list[int], *, count: int, spacing_s: float
) -> list[Promotion]:
    """`count` promotions alternating `versions` (starting with versions[0]), sent round-robin to `urls`,
    each waited on until every worker switched, starting `spacing_s` apart (or right after the last
    switch when that takes longer)."""
    done = []
    for i in range(count):
        version, version_id = versions[i % len(versions)]
        started = time.monotonic()
        promotion = wait_switched(promote(urls[i % len(urls)], version=version, version_id=version_id), pids)
        done.append(promotion)
        print(
            f"promotion {i + 1}/{count} -> {version} via {promotion.via}: call {promotion.call_s:.3f} s, "
            f"last worker {promotion.last_switch_s:.3f} s",
            flush=True,
        )
        rest = spacing_s - (time.monotonic() - started)
        if rest > 0 and i < count - 1:
            time.sleep(rest)  # keep a stretch of steady state between swaps (bounded: spacing_s)
    return done


def switch_stats(promotions: list[Promotion]) -> dict:
    last = [p.last_switch_s for p in promotions]
    calls = [p.call_s for p in promotions]
    return {
        "count": len(promotions),
        "call_to_last_worker_s": {
            "median": round(statistics.median(last), 4),
            "max": round(max(last), 4),
            "min": round(min(last), 4),
        },
        "reload_call_duration_s": {"median": round(statistics.median(calls), 4), "max": round(max(calls), 4)},
        "under_1s": sum(v < 1.0 for v in last),
    }


def judge(records: dict, promotions: list[Promotion], *, initial: str, steady_from: float) -> dict:
    """Correctness and latency of the answers around the promotions."""
    names = list(records["version_names"])
    t_send = records["t_send"]
    latency = (records["t_done"] - t_send) * 1000
    status = records["status"]
    named = np.array([names[c] if c >= 0 else None for c in records["version_code"]], dtype=object)

    calls = np.array([p.t_call for p in promotions])
    switched = np.array([p.t_last_switch for p in promotions])
    targets = [p.version for p in promotions]
    k = np.searchsorted(calls, t_send, side="right") - 1  # the last promotion sent before each request
    in_window = (k >= 0) & (t_send <= switched[np.maximum(k, 0)])
    expected = np.array([initial if i < 0 else targets[i] for i in k], dtype=object)
    previous = np.array([initial if i < 1 else targets[i - 1] for i in k], dtype=object)
    ok = status == 200
    stale = ok & ~in_window & (named != expected)
    foreign = ok & in_window & (named != expected) & (named != previous)

    first_call, last_switch = calls.min(), switched.max()
    steady = (t_send >= steady_from) & (t_send < first_call)
    swapping = (t_send >= first_call) & (t_send <= last_switch)
    after = t_send > last_switch
    last_old = []
    for i, p in enumerate(promotions):  # from the answers: when was the old version last seen after the call
        mask = ok & (k == i) & (named == (previous[k == i][0] if (k == i).any() else None))
        last_old.append(round(float(t_send[mask].max() - p.t_call), 4) if mask.any() else None)
    return {
        "requests": int(status.size),
        "non_200": int((~ok).sum()),
        "connection_errors": int((status == -1).sum()),
        "versions_seen": sorted({n for n in named if n}),
        "stale_beyond_switch_window": int(stale.sum()),
        "other_version_inside_window": int(foreign.sum()),
        "answers_inside_switch_windows": int((ok & in_window).sum()),
        "old_version_last_sent_after_call_s": last_old,
        "latency_ms": {
            "steady_state": percentiles(latency[steady]),
            "during_swaps": percentiles(latency[swapping]),
            "inside_switch_windows": percentiles(latency[in_window]),
            "after_swaps": percentiles(latency[after]),
        },
        "rps": {
            "steady_state": round(float(steady.sum() / max(first_call - steady_from, 1e-9)), 1),
            "during_swaps": round(float(swapping.sum() / max(last_switch - first_call, 1e-9)), 1),
        },
    }


def promotions_json(promotions: list[Promotion]) -> list[dict]:
    out = []
    for p in promotions:
        row = asdict(p)
        row.pop("answer", None)
        row["call_s"] = round(p.call_s, 4)
        row["last_switch_s"] = round(p.last_switch_s, 4)
        row["worker_switch_s"] = {str(k): v for k, v in p.worker_switch_s.items()}
        out.append(row)
    return out
