"""Atlas's settings with the batching settings of detections taken from the bench's own variables, so that
bench/detect_throughput.py can start servers with batching on and off (they are Django settings, not
environment variables of Atlas's)."""

import os

from atlas.settings import *  # noqa: F403
from atlas.settings import ATLAS_DETECT_BATCH_WINDOW_MS, ATLAS_DETECT_MAX_BATCH

ATLAS_DETECT_MAX_BATCH = int(os.environ.get("BENCH_DETECT_MAX_BATCH", ATLAS_DETECT_MAX_BATCH))
ATLAS_DETECT_BATCH_WINDOW_MS = float(os.environ.get("BENCH_DETECT_BATCH_WINDOW_MS", ATLAS_DETECT_BATCH_WINDOW_MS))
