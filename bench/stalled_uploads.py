"""Benchmark (issue 29 §1): /healthz and /predict beside 100 stalled uploads, on the single server the Procfile
starts and on the split (`make split`: Caddy in front of the web and torch services).

    .venv/bin/python bench/stalled_uploads.py [--stalled 100] [--probes 5] [--probe-timeout 10] [--no-wait]

One world (fresh PostgreSQL database), seeded by `make split` itself (migrate, seed_demo). For each server:
  baseline  --probes rounds of GET /healthz then POST /predict (a digit), one at a time, nothing else running;
  stalled   --stalled connections that each declare a 100,000-byte JSON body for POST /predict and send 5 bytes
            of it, then one byte every 5 s (issue 29's clients); once every one is connected, the same probes.
            A probe that gets no answer within --probe-timeout seconds counts as a timeout (no latency).
Servers, in this order:
  split     `make split`, probes and stalled uploads through Caddy (deploy/Caddyfile), as a client sees it;
  procfile  the Procfile's `web:` line (granian, WEB_CONCURRENCY=2 workers of 32 threads), straight on its port.
Writes bench/results/stalled_uploads.json.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digits import sample_digit_body  # noqa: E402
from bench.split_load import Split  # noqa: E402
from bench.world import World, loadavg, percentiles, wait_for_quiet, write_result  # noqa: E402

DECLARED = 100_000  # bytes each stalled upload declares: at a byte every 5 s it never completes here
TRICKLE_S = 5.0


class Stalled:
    """`count` uploads to POST /predict that send 5 bytes of their body, then a byte every 5 s."""

    def __init__(self, port: int, count: int) -> None:
        head = (
            "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {DECLARED}\r\n\r\n"
        ).encode()
        self.sockets = []
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(head + b'{"pix')
            self.sockets.append(client)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(TRICKLE_S):
            for client in self.sockets:
                with contextlib.suppress(OSError):  # closed by the server
                    client.sendall(b"e")

    def held(self) -> int:
        """How many are still open and unanswered."""
        count = 0
        for client in self.sockets:
            client.setblocking(False)
            try:
                client.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                count += 1
            except OSError:
                pass
        return count

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for client in self.sockets:
            client.close()


def probe(port: int, method: str, path: str, body: bytes | None, timeout: float) -> tuple[int | None, float]:
    """(status or None on timeout, seconds) of one request on a new connection."""
    import http.client

    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    except (TimeoutError, OSError):
        return None, time.monotonic() - started
    finally:
        connection.close()


def probes(port: int, rounds: int, timeout: float, digit: bytes) -> dict:
    requests = (("healthz", "GET", "/healthz", None), ("predict", "POST", "/predict", digit))
    results: dict[str, dict] = {name: {"ms": [], "statuses": {}, "timeouts": 0} for name, *_ in requests}
    for _ in range(rounds):
        for name, method, path, body in requests:
            status, took = probe(port, method, path, body, timeout)
            entry = results[name]
            if status is None:
                entry["timeouts"] += 1
            else:
                entry["ms"].append(took * 1000)
                entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1
    return {
        name: {
            "latency_ms": percentiles(entry["ms"], qs=(50, 99)),
            "statuses": entry["statuses"],
            "timeouts": entry["timeouts"],
        }
        for name, entry in results.items()
    }


def measure(port: int, args: argparse.Namespace, digit: bytes) -> dict:
    baseline = probes(port, args.probes, args.probe_timeout, digit)
    stalled = Stalled(port, args.stalled)
    try:
        load = loadavg()
        during = probes(port, args.probes, args.probe_timeout, digit)
        held = stalled.held()
    finally:
        stalled.close()
    after = probes(port, 2, 60, digit)  # the server recovers once the stalled clients leave
    return {
        "baseline": baseline,
        "with_stalled_uploads": during | {"stalled_still_held_after_the_probes": held, "load_average": load},
        "after_they_left": after,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stalled", type=int, default=100)
    parser.add_argument("--probes", type=int, default=5, help="rounds of /healthz + /predict per phase")
    parser.add_argument("--probe-timeout", type=float, default=10.0)
    parser.add_argument("--no-wait", action="store_true", help="skip the load-average gate")
    args = parser.parse_args()
    gate = {"skipped": True} if args.no_wait else wait_for_quiet()
    digit = sample_digit_body()
    results: dict = {}
    with World("stalled") as world:
        split = Split(world)  # migrates and seeds the world's database
        results["split"] = measure(split.port, args, digit)
        split.stop()

        procfile = world.serve("procfile", workers=2)
        results["procfile"] = measure(procfile.port, args, digit)
        procfile.stop()

    write_result(
        "stalled_uploads",
        {
            "settings": {
                "split": "make split: Caddy (deploy/Caddyfile) in front of the web service (granian, 2 workers) and "
                "the torch service; probes and stalled uploads through Caddy",
                "procfile": "the Procfile's web: line (granian, 2 workers of 32 blocking threads), straight",
                "stalled": args.stalled,
                "stalled_upload": f"POST /predict declaring {DECLARED} bytes, 5 sent, then one every {TRICKLE_S:g} s",
                "probes_per_phase": args.probes,
                "probe_timeout_s": args.probe_timeout,
            },
            "load_gate": gate,
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
