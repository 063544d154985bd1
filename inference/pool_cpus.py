"""The CPUs the slow pool is pinned to. `scripts/serve` asks before it starts the pool:

    python -m inference.pool_cpus "$ATLAS_SLOW_POOL_CPUS"

prints a CPU list for `taskset -c` (empty: leave the pool unpinned), or says what is wrong with the setting
and exits 2, which stops the replica's start.

Why pin it (docs/PERFORMANCE.md, "The slow pool's CPUs"): on two cores, with the pool free to run on either
core, detections raised /predict's p99 under mixed load more (x2.43, x1.99 and x1.55 in three recorded runs)
than with the pool held to the last core (x1.59 and x1.31 in the two runs that measured both). A busy loop
at the same priority raised it x2.77 on any core and x2.42 on the last one: no priority makes a CPU-bound
neighbour free, and pinning takes part of it away. The web workers are not pinned: they still take the
pool's core whenever they want it, and it yields it at once.

ATLAS_SLOW_POOL_CPUS:
- `auto` (the default): the last quarter of the CPUs this process may use, at least one; none when it may
  use only one (there is nothing to keep free);
- `none`: not pinned;
- a list as taskset and Linux write it (`1`, `2-3`, `0,4-5`), within the CPUs this process may use.

torch's compute threads follow: OpenMP counts the CPUs the pool may use when torch loads, so a pool pinned
to one core computes a detection on one thread.

This module imports nothing of Django's: it runs before the server does.
"""

from __future__ import annotations

import os
import sys


def allowed() -> set[int]:
    """The CPUs this process may run on; every CPU where the platform cannot say."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def parse(text: str) -> set[int]:
    """A CPU list (`0`, `2-3`, `0,4-5`) as a set; ValueError for anything else."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"'{part.strip()}' is not a CPU number or range")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise ValueError(f"'{part.strip()}' is a range that runs backwards")
        cpus.update(range(low, high + 1))
    return cpus


def choose(setting: str, usable: set[int]) -> list[int]:
    """The CPUs to pin the pool to for this setting ([]: not pinned); ValueError for a bad setting."""
    setting = setting.strip().lower()
    if setting == "none":
        return []
    if setting in ("", "auto"):
        if len(usable) < 2:
            return []
        ordered = sorted(usable)
        return ordered[-max(1, len(ordered) // 4) :]
    wanted = parse(setting)
    outside = wanted - usable
    if outside:
        raise ValueError(
            f"CPU {', '.join(map(str, sorted(outside)))} is not one this process may use "
            f"({format_list(sorted(usable))})"
        )
    return sorted(wanted)


def format_list(cpus: list[int]) -> str:
    """[0, 2, 3, 4] -> '0,2-4'."""
    parts: list[str] = []
    start = previous = None
    for cpu in [*cpus, None]:
        if previous is not None and cpu == previous + 1:
            previous = cpu
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = cpu
    return ",".join(parts)


def main(argv: list[str]) -> int:
    setting = argv[1] if len(argv) > 1 else "auto"
    try:
        cpus = choose(setting, allowed())
    except ValueError as exc:
        print(
            f"ATLAS_SLOW_POOL_CPUS='{setting}': {exc}; use auto, none or a CPU list such as 1 or 2-3", file=sys.stderr
        )
        return 2
    print(format_list(cpus))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
