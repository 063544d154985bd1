"""A closed-loop HTTP load generator: asyncio on raw non-blocking sockets, one process, stdlib only.

`concurrency` clients each send a request, read the whole answer, and send the next, for `duration`
seconds (and at most `max_requests`). gunicorn's sync workers close the connection after every answer,
so every request opens its own connection (`Connection: close`), and closes it as soon as the answer's
Content-Length bytes have arrived, as HTTP client libraries do.

It records every request: wall-clock send and completion times (time.time(), comparable with the
timestamps the workers write in PostgreSQL on the same host), HTTP status (-1 for a connection error or a
timeout) and the "version" the answer names (found with a byte search, no JSON parsing), and writes
them to an .npz file for the benchmark that started it.

    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:8000/predict --body-file body.json \
        --concurrency 8 --duration 10 --out records.npz
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

VERSION = re.compile(rb'"version":\s*"([^"]*)"')


def build_request(
    url: str, body: bytes | None, content_type: str = "application/json"
) -> tuple[tuple[str, int], bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    method = "POST" if body is not None else "GET"
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close", "User-Agent: atlas-bench"]
    if body is not None:
        head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")
    return (host, port), raw


CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


async def read_answer(loop, sock) -> bytes:
    """Read one answer: up to the end of its Content-Length body (as HTTP clients do, closing at once
    rather than waiting for the server's FIN), or to EOF when it has none."""
    answer = b""
    expected = None
    while True:
        data = await loop.sock_recv(sock, 65536)
        if not data:
            if expected is not None and expected >= 0 and len(answer) < expected:
                raise ValueError("answer truncated")
            return answer
        answer += data
        if expected is None:
            head_end = answer.find(b"\r\n\r\n")
            if head_end >= 0:
                match = CONTENT_LENGTH.search(answer, 0, head_end + 2)
                expected = head_end + 4 + int(match.group(1)) if match else -1
        if expected is not None and expected >= 0 and len(answer) >= expected:
            return answer


async def one_request(loop, address, raw: bytes, timeout: float) -> tuple[int, bytes]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, address)
            await loop.sock_sendall(sock, raw)
            answer = await read_answer(loop, sock)
        status = int(answer[9:12]) if answer.startswith(b"HTTP/1.") else -1
        return status, answer
    except (OSError, TimeoutError, ValueError):
        return -1, b""
    finally:
        sock.close()


async def run(
    *,
    urls: list[str],
    body: bytes | None,
    concurrency: int,
    duration: float,
    max_requests: int,
    timeout: float,
    parse_version: bool,
    content_type: str = "application/json",
) -> dict:
    loop = asyncio.get_running_loop()
    targets = [build_request(url, body, content_type) for url in urls]
    sent, done, statuses, versions = [], [], [], []
    names: dict[bytes, int] = {}
    stop_at = time.time() + duration
    counter = 0

    async def client(index: int) -> None:
        nonlocal counter
        turn = index
        while time.time() < stop_at and counter < max_requests:
            counter += 1
            address, raw = targets[turn % len(targets)]
            turn += 1
            t0 = time.time()
            status, answer = await one_request(loop, address, raw, timeout)
            t1 = time.time()
            code = -1
            if parse_version and status == 200:
                match = VERSION.search(answer, len(answer) - 4096 if len(answer) > 4096 else 0)
                if match:
                    code = names.setdefault(match.group(1), len(names))
            sent.append(t0)
            done.append(t1)
            statuses.append(status)
            versions.append(code)

    started = time.time()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    elapsed = time.time() - started
    return {
        "t_send": np.asarray(sent, dtype=np.float64),
        "t_done": np.asarray(done, dtype=np.float64),
        "status": np.asarray(statuses, dtype=np.int16),
        "version_code": np.asarray(versions, dtype=np.int16),
        "version_names": np.asarray([name.decode() for name in sorted(names, key=names.get)], dtype=str),
        "started": np.float64(started),
        "elapsed": np.float64(elapsed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", required=True, help="repeat to spread clients over replicas")
    parser.add_argument("--body-file", help="JSON body to POST (GET without one)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--content-type", default="application/json", help="of the body (image/jpeg, audio/wav)")
    parser.add_argument("--no-version", action="store_true", help="skip the version search")
    parser.add_argument("--out", required=True, help=".npz file for the per-request records")
    args = parser.parse_args(argv)
    body = Path(args.body_file).read_bytes() if args.body_file else None
    records = asyncio.run(
        run(
            urls=args.url,
            body=body,
            concurrency=args.concurrency,
            duration=min(args.duration, 600),
            max_requests=args.max_requests,
            timeout=args.timeout,
            parse_version=not args.no_version,
            content_type=args.content_type,
        )
    )
    np.savez(args.out, **records)
    n = len(records["status"])
    ok = int((records["status"] == 200).sum())
    latency = (records["t_done"] - records["t_send"]) * 1000
    summary = {
        "requests": n,
        "ok": ok,
        "rps": round(n / float(records["elapsed"]), 1),
        "p50_ms": round(float(np.percentile(latency, 50)), 2) if n else None,
        "p99_ms": round(float(np.percentile(latency, 99)), 2) if n else None,
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
