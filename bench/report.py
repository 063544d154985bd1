"""Render the figures of bench/results/*.json as the table in docs/PERFORMANCE.md.

.venv/bin/python bench/report.py          # rewrite the table between the markers in docs/PERFORMANCE.md
.venv/bin/python bench/report.py --print  # print it instead
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def lat(d: dict | None, keys=("p50", "p99", "max")) -> str:
    if not d:
        return "-"
    return " / ".join(f"{d[k]:.1f}" if isinstance(d.get(k), int | float) else "-" for k in keys) + " ms"


def run_note(r: dict) -> str:
    gate = r.get("load_gate", {})
    load_start = gate.get("load_at_start", ["?"])[0] if isinstance(gate, dict) else "?"
    return f"{r['machine']['date'][:10]}, {r['machine']['git_head'][:8]}, load {load_start}"


def rows() -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    cmd = ".venv/bin/python bench/{}.py"

    r = load("predict_throughput")
    if r:
        s, f, c = r["summary"], r["floor_in_process"], r["ceiling_trivial_endpoint"]
        c1 = cmd.format("predict_throughput")
        gen = "wrk" if "wrk" in s["load_generator"] else "loadgen.py"
        out += [
            (
                f"POST /predict, Atlas as the Procfile starts it (granian, {r['settings']['workers']} worker(s)), "
                f"{r['settings']['concurrency']} connections",
                f"**{s['atlas_rps_median']:.0f} req/s**; p50/p99/max {lat(s['atlas_latency_ms'])}",
                f"bare WSGI app on the same granian {s['bare_rps_median']:.0f} req/s; ratio "
                f"**{s['ratio_atlas_over_bare_median']:.2f}** "
                f"(rounds {', '.join(f'{x:.2f}' for x in s['ratio_atlas_over_bare_rounds'])}; target >= "
                f"{s['ratio_target']:g}); binary body {s['ratio_atlas_binary_over_bare_median']:.2f}",
                c1,
            ),
            (
                "POST /predict, Atlas under gunicorn sync (gunicorn -c atlas/gunicorn.conf.py), same rounds",
                "ratio to the bare app under the same gunicorn settings "
                f"**{s['ratio_atlas_gunicorn_sync_over_bare_gunicorn_sync_median']:.2f}**",
                "the hot path (inference/hot_path.py) under the old default server",
                c1,
            ),
            (
                "POST /predict latency, 1 connection",
                f"p50/p99/max {lat(s['atlas_latency_c1_ms'])}",
                f"bare {lat(r['concurrency_1']['bare']['latency_ms'])}",
                c1,
            ),
            (
                "first requests of a fresh worker (1 worker, digit model preloaded)",
                " / ".join(f"{v:.0f}" for v in r["first_requests_of_a_fresh_worker_ms"]) + " ms",
                "views are imported at worker start (see below)",
                c1,
            ),
            (
                "floor: forward pass alone (in-process)",
                f"{f['forward_only']['median_us']:.1f} us",
                f"= {r['floor_rps_forward_only_all_workers']:.0f} req/s on {r['settings']['workers']} worker(s)",
                c1,
            ),
            (
                "one no-socket WSGI call (in-process)",
                f"Atlas {f['atlas_wsgi_call_no_socket']['median_us']:.0f} us"
                + (
                    f" (through Django: {f['django_path_call_no_socket']['median_us']:.0f} us)"
                    if "django_path_call_no_socket" in f
                    else ""
                ),
                f"bare {f['bare_wsgi_call_no_socket']['median_us']:.0f} us (parse+forward+orjson "
                f"{f['parse_forward_dumps']['median_us']:.0f} us)",
                c1,
            ),
            (
                f"load generator on a constant endpoint of the bare app under granian ({gen})",
                f"{next(iter(c.values()))['rps']:.0f} req/s = {s['ceiling_over_atlas']:.1f}x Atlas",
                f"loadgen.py {c['loadgen']['rps']:.0f} req/s; under loadgen.py Atlas/bare = "
                f"{r['loadgen_py']['ratio_atlas_over_bare']:.2f} (capped bare)",
                c1,
            ),
        ]

    for name, label in (
        ("swaps_under_load", "1 replica"),
        ("swaps_under_mixed_load", "1 replica"),
        ("two_replicas", "2 replicas, S3"),
    ):
        r = load(name)
        if not r:
            continue
        part = r if name.startswith("swaps_under") else r["under_load"]
        if "server" in r["settings"]:
            label = f"{label}, {r['settings']['server']}"
        sw, a = part["switch"], part["answers"]
        command = cmd.format(name)
        if name == "swaps_under_mixed_load":  # swaps_under_load.py with detection clients writes it
            command = cmd.format("swaps_under_load") + f" --detect-clients {r['settings'].get('detect_clients', 2)}"
        out += [
            (
                f"{sw['count']} promotions under load ({label}): failed / stale answers",
                f"**{a['non_200']} non-200, {a['stale_beyond_switch_window']} stale** of {a['requests']}",
                f"{a['answers_inside_switch_windows']} answers inside switch windows (either version allowed)",
                command,
            ),
            (
                f"promotion -> last worker switched, under load ({label})",
                f"median {sw['call_to_last_worker_s']['median'] * 1000:.0f} ms, max "
                f"{sw['call_to_last_worker_s']['max'] * 1000:.0f} ms",
                f"reload call answers in median {sw['reload_call_duration_s']['median'] * 1000:.0f} ms",
                command,
            ),
            (
                f"p50/p99/max latency, steady vs during swaps ({label})",
                f"{lat(a['latency_ms']['steady_state'])} vs {lat(a['latency_ms']['during_swaps'])}",
                f"inside switch windows {lat(a['latency_ms']['inside_switch_windows'])}",
                command,
            ),
        ]
        if name == "two_replicas":
            idle = r["idle_call_to_last_worker"]["switch"]
            out.append(
                (
                    f"reload call -> last of 4 workers on the new version, {idle['count']} idle promotions",
                    f"**median {idle['call_to_last_worker_s']['median'] * 1000:.0f} ms, max "
                    f"{idle['call_to_last_worker_s']['max'] * 1000:.0f} ms**",
                    f"target < 1 s ({idle['under_1s']}/{idle['count']}); the call itself answers in median "
                    f"{idle['reload_call_duration_s']['median'] * 1000:.0f} ms",
                    cmd.format(name),
                )
            )

    r = load("cold_warm_start")
    if r:
        for row in r["sizes"]:
            st = row["cold_steps_median_s"]
            out.append(
                (
                    f"start a {row['bytes'] / 2**20:.0f} MiB numpy_mlp from S3: cold / warm cache",
                    f"{row['cold_s']['median'] * 1000:.0f} ms / {row['warm_s']['median'] * 1000:.0f} ms",
                    f"new boto3 client {st['new_s3_client'] * 1000:.0f}, "
                    * ("new_s3_client" in st)
                    + f"fetch {st['fetch'] * 1000:.0f}, sha256 {st['verify_sha256'] * 1000:.0f}, load "
                    f"{st['load'] * 1000:.0f}, warm-up {st['warm_up'] * 1000:.1f} ms; metadata.json + latest/ copy "
                    f"{row['write_metadata_and_latest_copy_s']['median'] * 1000:.0f} ms",
                    cmd.format("cold_warm_start"),
                )
            )

    r = load("demo_warm_start")
    if r:
        for row in r["models"]:
            out.append(
                (
                    f"start demo {row['model']} ({row['runtime']}, {row['bytes'] / 2**20:.1f} MiB {row['format']}): "
                    "cold / warm, new worker / warm",
                    f"{row['cold_s'] * 1000:.0f} / **{row['warm_new_worker_s'] * 1000:.0f}** / "
                    f"{row['warm_s'] * 1000:.0f} ms",
                    f"target: warm under 1 s ({'met' if row['under_1s'] else 'MISSED'}); local store; imports paid "
                    "at worker start",
                    cmd.format("demo_warm_start"),
                )
            )

    r = load("detector_latency")
    if r:
        for row in r["latency"]:
            speedup = row.get("onnx_speedup_same_threads", row.get("onnx_speedup"))
            threads = f", {row['threads']} thread{'s' * (row['threads'] != 1)}" if "threads" in row else ""
            out.append(
                (
                    f"{row['arch']} .{row['format']}{threads}, per image (china.jpg, 640)",
                    f"median {row['median_ms']:.0f} ms (p90 {row['p90_ms']:.0f})",
                    f"ONNX speed-up at equal threads x{speedup:.2f}; load+warm {row['load_and_warm_up_s']:.2f} s"
                    + (f"; {row['threads_note']}" if "threads_note" in row else ""),
                    cmd.format("detector_latency"),
                )
            )

    r = load("memory")
    if r:
        s = r["summary"]
        out += [
            (
                "RSS per worker: no model / four demo models",
                f"{s['empty_rss_mib_max']:.0f} MiB / **{s['loaded_rss_mib_max']:.0f} MiB** (USS "
                f"{s['loaded_uss_mib_max']:.0f})",
                ", ".join(r["settings"]["models"]),
                cmd.format("memory"),
            ),
            (
                "RSS peak during a detector swap / after",
                f"{s['peak_during_swap_mib_max']:.0f} MiB / {s['after_swap_rss_mib_max']:.0f} MiB",
                f"all workers switched in {r['swap']['call_to_all_switched_s'] * 1000:.0f} ms",
                cmd.format("memory"),
            ),
        ]

    r = load("profile_predict")
    if r:
        w = r["what_if_in_process"]
        saves = "; ".join(
            f"{k}: {-v['saves_us']:+.0f} us" for k, v in w.items() if k != "atlas as is" and not k.startswith("bare")
        )
        out.append(
            (
                "what-if, one no-socket /predict call",
                f"{w['atlas as is']['us']:.0f} us as is",
                saves,
                cmd.format("profile_predict"),
            )
        )
    r = load("rollouts")
    if r:
        c, b = r["cost_per_request"], r["bad_canary"]
        ratios = c["ratios_to_none"]
        out += [
            (
                "/predict cost of a running rollout (in-process, vs none)",
                f"canary x{ratios['canary']:.2f}, shadow x{ratios['shadow']:.2f}; metrics calls "
                f"{ratios['metrics_share_of_a_request'] * 100:.1f}% of a request",
                f"{c['none']['median_us']:.0f} us a request with none; shadow copies run on the worker's background "
                "thread (same CPU)",
                cmd.format("rollouts"),
            ),
            (
                "canary of a failing version under load",
                f"**{b['failed_before_rollback']} failed** before the automatic rollback "
                f"({b['canary_start_to_trip_s']:.2f} s after the start); trip -> every worker on stable "
                f"**{b['trip_to_every_worker_on_stable_ms']:.0f} ms**",
                f"{r['settings']['workers']} sync workers, 50% canary, max_error_rate 0.1, min_requests 20, "
                f"{b['requests']} requests",
                cmd.format("rollouts"),
            ),
        ]
    r = load("coherence")
    if r:
        c = cmd.format("coherence")
        for mode, label in (
            ("repo-root", "from the repository root (reads ./gunicorn.conf.py)"),
            ("no-config", "from an empty folder (no config file)"),
        ):
            figures = r.get("coherence", {}).get(mode)
            if figures:
                s = figures["switch"]
                out.append(
                    (
                        f"promotion -> last of 3 workers switched, `gunicorn atlas.wsgi -w 3` {label}",
                        f"**median {s['call_to_last_worker_s']['median'] * 1000:.0f} ms, "
                        f"max {s['call_to_last_worker_s']['max'] * 1000:.0f} ms**",
                        f"{s['count']} idle promotions through reload-models; the call answers in median "
                        f"{s['reload_call_duration_s']['median'] * 1000:.0f} ms",
                        c,
                    )
                )
        for run in r.get("slow_clients", []):
            base = run["healthz_baseline_ms"]
            out.append(
                (
                    f"GET /healthz behind 2 slow clients ({run['slow_target']}, 5 of 1000 bytes), 2 sync workers, "
                    f"gunicorn --timeout {run['gunicorn_timeout_s']}",
                    f"**{run['healthz_ms'] / 1000:.1f} s** (status {run['healthz_status']})"
                    if run["healthz_ms"] >= 1000
                    else f"**{run['healthz_ms']:.0f} ms** (status {run['healthz_status']})",
                    f"without them p50 {base['p50']:.1f} ms; both workers held first: "
                    f"{'yes' if run['both_workers_held_before_healthz'] else 'no'}",
                    c,
                )
            )
        cost = r.get("body_deadline_cost")
        if cost:
            out.append(
                (
                    "POST /predict throughput with the body deadline on / off (ATLAS_BODY_IDLE_SECONDS 1 / 0)",
                    f"**ratio {cost['ratio_on_over_off_median']:.3f}** (median of {len(cost['rounds'])} rounds)",
                    "2 sync workers each, alternating wrk runs at 4 connections; rounds "
                    + ", ".join(f"{x['ratio']:.2f}" for x in cost["rounds"]),
                    c,
                )
            )
    r = load("mixed_load")
    if r:
        c = r.get("command") or cmd.format("mixed_load")
        for name, figures in r["results"].items():
            alone, mixed = figures["predict_alone"], figures["predict_mixed"]
            out.append(
                (
                    f"POST /predict p99 alone / while {r['settings']['detect_clients']} clients keep /api/v1/detect "
                    f"busy, {server_label(name)}, 2 workers",
                    f"{alone['latency_ms']['p99']:.1f} / {mixed['latency_ms']['p99']:.1f} ms "
                    f"(**x{figures['p99_mixed_over_alone']:.2f}**"
                    + (
                        f"; rounds {', '.join(f'x{x:.2f}' for x in figures['p99_mixed_over_alone_rounds'])})"
                        if "p99_mixed_over_alone_rounds" in figures
                        else ")"
                    ),
                    f"{alone['rps']:.0f} / {mixed['rps']:.0f} req/s; detections answered meanwhile "
                    f"{figures['detect']['answered']} (median {figures['detect']['median_ms']} ms)"
                    + (
                        f"; RSS per worker {' / '.join(str(m) for m in figures['rss_per_worker_mib'])} MiB"
                        if "rss_per_worker_mib" in figures
                        else ""
                    ),
                    c,
                )
            )
    return out


def server_label(name: str) -> str:
    """A mixed_load setting as the table names it."""
    return "granian (the Procfile's server)" if name == "granian" else f"gunicorn {name}"


def table() -> str:
    lines = ["| figure | value | context | command |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | `{d}` |" for a, b, c, d in rows()]
    notes = []
    for name in (
        "predict_throughput",
        "swaps_under_load",
        "swaps_under_mixed_load",
        "two_replicas",
        "cold_warm_start",
        "demo_warm_start",
        "detector_latency",
        "memory",
        "profile_predict",
        "rollouts",
        "coherence",
        "mixed_load",
        "serve_models_memory",
    ):
        r = load(name)
        if r:
            notes.append(f"`{name}`: {run_note(r)}")
    return "\n".join(lines) + "\n\nRuns (date, commit, 1-minute load at start): " + "; ".join(notes) + "."


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--print", action="store_true")
    args = parser.parse_args()
    text = table()
    if args.print:
        print(text)
        return 0
    doc = DOC.read_text()
    if START not in doc or END not in doc:
        print(f"{DOC} has no {START} ... {END} markers", file=sys.stderr)
        return 1
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(f"updated {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
