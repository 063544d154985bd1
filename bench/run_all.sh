#!/usr/bin/env bash
# Every benchmark in turn; each waits (up to 10 minutes) for the 1-minute load average to drop below 1.5
# first. Results land in bench/results/<name>.json; docs/PERFORMANCE.md tabulates them.
set -euo pipefail
cd "$(dirname "$0")/.."
for name in big_promotions cold_start predict_throughput swaps_under_load two_replicas cold_warm_start demo_warm_start detector_latency memory serve_models_memory input_memory profile_predict rollouts coherence mixed_load split_load v2_infer stalled_uploads detect_throughput; do
  echo "== bench/$name.py"
  .venv/bin/python "bench/$name.py"
done
