"""Benchmark 9 (issue 10): peak memory of the largest inputs the media endpoints accept, before and after
the header checks.

    .venv/bin/python bench/input_memory.py [--no-wait]

Each row runs in a fresh interpreter that has imported Django and the endpoint's module: the figure is
its peak RSS growth (ru_maxrss minus the RSS before the call) while it does what the endpoint does to a
body before the model sees it: audio decoded to float32 and turned into log-mel features; an image
decoded, EXIF-transposed, made RGB and an array. "before" is the decoding of the code before issue 10
(soundfile.read of anything libsndfile opens; images up to 40,000,000 pixels); "after" is
inference.api.audio.decode_wav / inference.api.vision.decode_image as they are now (refusals read only
the header). The bodies are written to files first, so making them is not counted.
Writes bench/results/input_memory.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.world import wait_for_quiet, write_result  # noqa: E402

MB = 1024 * 1024


def make_inputs(folder: Path) -> dict[str, Path]:
    import numpy as np
    import soundfile
    from PIL import Image

    files = {}

    def audio(name: str, seconds: int, rate: int, channels: int, fmt: str, subtype: str) -> None:
        path = folder / name
        with soundfile.SoundFile(path, "w", rate, channels, subtype=subtype, format=fmt) as out:
            block = np.zeros((rate * 10, channels), dtype=np.int16)  # 10 s at a time: bounded here too
            for _ in range(seconds // 10):
                out.write(block)
        files[name] = path

    audio("flac_10min_48k_stereo.flac", 600, 48_000, 2, "FLAC", "PCM_16")  # the attack, 10 min not 60
    audio("wav_8bit_40min_8k.wav", 2400, 8_000, 1, "WAV", "PCM_U8")  # 19 MB, under the upload limit
    audio("wav_60s_96k_mono.wav", 60, 96_000, 1, "WAV", "PCM_16")  # the largest clip accepted now
    for name, size in (("png_40mp.png", (8000, 5000)), ("png_25mp.png", (5000, 5000))):
        Image.new("RGB", size, (90, 120, 150)).save(folder / name)
        files[name] = folder / name
    return files


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def child(mode: str, path: str) -> None:
    """Run one decode in this fresh interpreter; print {"outcome", "peak_growth_mb"}."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings_test")
    import django

    django.setup()
    import numpy as np
    import soundfile
    from PIL import Image, ImageOps

    from inference.api.audio import decode_wav
    from inference.api.uploads import UploadError
    from inference.api.vision import decode_image
    from inference.runtimes.audio_features import log_mel_features

    data = Path(path).read_bytes()
    log_mel_features(np.zeros(4096), 16_000)  # import-time and first-call allocations are not counted
    baseline = rss_mb()
    outcome = "accepted"
    try:
        if mode == "audio_before":
            samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
            log_mel_features(samples, rate)
        elif mode == "audio_after":
            samples, rate = decode_wav(data)
            log_mel_features(samples, rate)
        elif mode == "image_before":
            image = Image.open(io.BytesIO(data))
            image.load()
            np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        else:
            np.asarray(decode_image(data).convert("RGB"))
    except UploadError as exc:
        outcome = f"refused {exc.code} {exc.error}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"outcome": outcome, "peak_growth_mb": round(peak - baseline, 1)}))


ROWS = [
    ("audio", "flac_10min_48k_stereo.flac"),
    ("audio", "wav_8bit_40min_8k.wav"),
    ("audio", "wav_60s_96k_mono.wav"),
    ("image", "png_40mp.png"),
    ("image", "png_25mp.png"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    quiet = {"skipped": True} if args.no_wait else wait_for_quiet()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-input-memory-") as scratch:
        files = make_inputs(Path(scratch))
        env = {**os.environ, "ATLAS_VAR_DIR": scratch}
        for kind, name in ROWS:
            row = {"input": name, "bytes": files[name].stat().st_size}
            for when in ("before", "after"):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", f"{kind}_{when}", str(files[name])],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=True,
                )
                row[when] = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
            rows.append(row)
    write_result("input_memory", {"quiet": quiet, "rows": rows})


if __name__ == "__main__":
    main()
