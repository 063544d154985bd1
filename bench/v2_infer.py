"""Benchmark: the Open Inference Protocol's infer, against /predict on the same server and against Seldon's
MLServer serving the same scikit-learn model with the same number of workers.

    .venv/bin/python bench/v2_infer.py [--duration 5] [--concurrency 4] [--workers 2] [--rounds 2] [--no-wait]

One world (fresh PostgreSQL database, local store) with two models: `digit_classifier` (numpy_mlp, 784-100-10)
and `digits-sk` (a scikit-learn LogisticRegression on scikit-learn's 8x8 digits, saved with skops for Atlas
and with joblib for MLServer). Atlas runs as the Procfile starts it (granian), MLServer 1.7.1 with
mlserver-sklearn from its own virtualenv, bench/.work/mlserver-venv (never the shared one: it pins other
versions of Atlas's dependencies):

    python3.11 -m venv bench/.work/mlserver-venv
    bench/.work/mlserver-venv/bin/pip install mlserver==1.7.1 mlserver-sklearn==1.7.1 scikit-learn==1.9.1 numpy==2.4.6 \
        uvloop==0.21.0  # MLServer 1.7.1's parallel workers fail under uvloop 0.22+ (get_event_loop)

with `parallel_workers` equal to Atlas's workers. Each round drives, with wrk at --concurrency connections for
--duration seconds: Atlas /predict (JSON), Atlas V2 infer of the digits network (JSON, and binary: the
784 float32 after the JSON header), Atlas V2 infer of the scikit-learn model (JSON), MLServer V2 infer of the
same model (the same JSON body). Every answer is checked once before the load. Writes
bench/results/v2_infer.json with the medians and the ratio Atlas/MLServer (target >= 1.5).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.digits import sample_digit_body, write_digit_npz  # noqa: E402
from bench.world import REPO, World, free_port, http, setup_django, wait_for_quiet, wait_until, write_result  # noqa: E402

MLSERVER = REPO / "bench" / ".work" / "mlserver-venv" / "bin" / "mlserver"
SK_MODEL = "digits-sk"


def sklearn_model(folder: Path) -> tuple[Path, Path, np.ndarray]:
    """The same fitted estimator as a skops file (Atlas) and a joblib file (MLServer), and one row to ask."""
    import joblib
    import skops.io
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=2000).fit(x, y)
    skops_path, joblib_path = folder / "digits.skops", folder / "mlserver" / "model.joblib"
    joblib_path.parent.mkdir(parents=True)
    skops.io.dump(model, skops_path)
    joblib.dump(model, joblib_path)
    return skops_path, joblib_path, x[:1]


def start_mlserver(world: World, folder: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "http_port": port,
                "grpc_port": free_port(),
                "metrics_port": free_port(),
                "parallel_workers": workers,
                "debug": False,
            }
        )
    )
    (folder / "model-settings.json").write_text(
        json.dumps(
            {
                "name": SK_MODEL,
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"},
            }
        )
    )
    log = open(world.folder / "mlserver.log", "ab")  # noqa: SIM115 -- kept open for the server's life
    process = subprocess.Popen(
        [str(MLSERVER), "start", str(folder)], cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    world.subprocesses.append(process)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"MLServer exited: {(world.folder / 'mlserver.log').read_text()[-3000:]}")
        try:
            return http("GET", f"{url}/v2/models/{SK_MODEL}/ready", timeout=5)[0] == 200
        except OSError:
            return False

    wait_until(ready, timeout=180, interval=0.5, what="MLServer ready")
    return process, url


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-wait", action="store_true", help="skip the load-average gate")
    args = parser.parse_args()
    if not MLSERVER.exists():
        print(f"{MLSERVER} is missing: install MLServer as this file's docstring says", file=sys.stderr)
        return 2
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()

    from bench.measure import run_wrk

    with World("v2") as world:
        setup_django(world)
        from models_registry import services

        digits = services.model_version_register(
            model_name="digit_classifier",
            version="1.0.0",
            source=write_digit_npz(world.folder / "digits.npz", seed=1),
            runtime="numpy_mlp",
        )
        services.model_version_promote(version=digits, actor="bench")
        skops_path, joblib_path, row = sklearn_model(world.folder)
        sk = services.model_version_register(model_name=SK_MODEL, version="1", source=skops_path, runtime="sklearn")
        services.model_version_promote(version=sk, actor="bench")

        pixels = json.loads(sample_digit_body())["pixels"]
        bodies = {
            "predict": (json.dumps({"pixels": pixels}).encode(), None),
            "digits_json": (
                json.dumps(
                    {"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": pixels}]}
                ).encode(),
                None,
            ),
            "sk_json": (
                json.dumps(
                    {"inputs": [{"name": "input-0", "shape": [1, 64], "datatype": "FP64", "data": row[0].tolist()}]}
                ).encode(),
                None,
            ),
        }
        head = json.dumps(
            {
                "inputs": [
                    {"name": "pixels", "shape": [1, 784], "datatype": "FP32", "parameters": {"binary_data_size": 3136}}
                ],
                "parameters": {"binary_data_output": True},
            }
        ).encode()
        bodies["digits_binary"] = (head + np.asarray(pixels, dtype="<f4").tobytes(), len(head))
        files = {}
        for name, (body, _) in bodies.items():
            files[name] = world.folder / f"{name}.body"
            files[name].write_bytes(body)

        atlas = world.serve("atlas", workers=args.workers)
        _, mlserver_url = start_mlserver(world, joblib_path.parent, args.workers)
        targets = {
            "atlas_predict": (atlas.url + "/predict", "predict"),
            "atlas_v2_digits_json": (atlas.url + "/v2/models/digit_classifier/infer", "digits_json"),
            "atlas_v2_digits_binary": (atlas.url + "/v2/models/digit_classifier/infer", "digits_binary"),
            "atlas_v2_sklearn_json": (atlas.url + f"/v2/models/{SK_MODEL}/infer", "sk_json"),
            "mlserver_v2_sklearn_json": (mlserver_url + f"/v2/models/{SK_MODEL}/infer", "sk_json"),
        }
        # the same answer from both servers before any load
        answers = {
            name: http("POST", url, body=json.loads(bodies["sk_json"][0]))
            for name, (url, _) in targets.items()
            if name.endswith("sklearn_json")
        }
        labels = {name: answer[1]["outputs"][0]["data"] for name, answer in answers.items()}
        if len(set(map(str, labels.values()))) != 1 or any(a[0] != 200 for a in answers.values()):
            raise RuntimeError(f"the servers disagree: {answers}")

        rounds: list[dict] = []
        for index in range(args.rounds):
            figures = {}
            for name, (url, body) in targets.items():
                header = bodies[body][1]
                figures[name] = run_wrk(
                    url,
                    body_file=files[body],
                    connections=args.concurrency,
                    duration_s=args.duration,
                    content_type="application/octet-stream" if header else "application/json",
                    infer_header=header,
                )
                print(f"round {index} {name}: {json.dumps(figures[name])}", flush=True)
            figures["ratio_atlas_over_mlserver"] = round(
                figures["atlas_v2_sklearn_json"]["rps"] / figures["mlserver_v2_sklearn_json"]["rps"], 3
            )
            rounds.append(figures)

        medians = {name: statistics.median(r[name]["rps"] for r in rounds) for name in targets}
        result = {
            "load_gate": gate,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "generator": "wrk (one thread), bench/wrk_post.lua",
            "median_rps": medians,
            "median_ratio_atlas_over_mlserver": statistics.median(r["ratio_atlas_over_mlserver"] for r in rounds),
            "rounds": rounds,
        }
        print(json.dumps({k: result[k] for k in ("median_rps", "median_ratio_atlas_over_mlserver")}, indent=2))
        write_result("v2_infer", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
