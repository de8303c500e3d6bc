"""Many clients at once lose nothing: every 202 is stored once.

Run: ``python -m bench.load [--clients 2000] [--seconds 20] [--server granian|werkzeug]``.
Starts ``marketap-mock serve`` in its own process, opens ``--clients`` keep-alive connections
and has each send one event at a time, each with an id of its own, for ``--seconds``. Then it
reads the project's events back and prints how many requests were answered 202, how many events
are stored, how many accepted ones are missing (lost), stored more than once (duplicates) or
stored without a 202 the client saw, and how long the run took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

import requests

__all__ = ["main", "run"]

PROJECT = "test-project"


def start(server: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--port",
            "0",
            "--quiet",
            "--server",
            server,
            "--max-stored-events",
            "10000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = next(line.split()[-1] for line in proc.stdout if line.startswith("Marketap fake serving on"))
    return proc, url


def request(host: str, client: int, n: int) -> bytes:
    body = json.dumps(
        {
            "events": [
                {
                    "id": f"c{client}-{n}",
                    "name": "load",
                    "user_id": f"u{client}",
                    "timestamp": "2025-01-17T05:39:22Z",
                }
            ]
        }
    ).encode()
    head = (
        f"POST /v1/api/events?project_id={PROJECT} HTTP/1.1\r\nHost: {host}\r\n"
        "Authorization: Bearer test-api-key\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The answer's status, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    keep = status_line.startswith(b"HTTP/1.1")
    length = 0
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            keep = value.strip().lower() != b"close"
    if length:
        await reader.readexactly(length)
    return status, keep


async def one_client(
    host: str, port: int, client: int, until: float, accepted: list[str], other: Counter[str]
) -> None:
    n = 0
    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < until:
            writer.write(request(host, client, n))
            await writer.drain()
            status, keep = await read_answer(reader)
            if status == 202:
                accepted.append(f"c{client}-{n}")
            else:
                other[str(status)] += 1
            n += 1
            if not keep:
                # a server that closes after each answer: connect again, as a client would
                other["reconnected"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    except (OSError, asyncio.IncompleteReadError) as exc:
        other[type(exc).__name__] += 1
    finally:
        if writer is not None:
            writer.close()


async def run(url: str, clients: int, seconds: float) -> tuple[list[str], Counter[str], float]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    accepted: list[str] = []
    other: Counter[str] = Counter()
    began = time.monotonic()
    until = began + seconds
    await asyncio.gather(
        *(one_client(parts.hostname, parts.port, c, until, accepted, other) for c in range(clients))
    )
    return accepted, other, time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--server", choices=["granian", "werkzeug"], default="granian")
    args = parser.parse_args(argv)
    proc, url = start(args.server)
    try:
        accepted, other, took = asyncio.run(run(url, args.clients, args.seconds))
        stored = [
            e["id"]
            for e in requests.get(f"{url}/_mock/events", params={"project_id": PROJECT}, timeout=600).json()[
                "events"
            ]
        ]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    counts = Counter(stored)
    wanted = set(accepted)
    lost = len(wanted - counts.keys())
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    unasked = len(counts.keys() - wanted)
    print(
        f"{args.server}: {args.clients} clients, {took:.1f} s: accepted {len(accepted)}, "
        f"stored {len(stored)}, "
        f"lost {lost}, duplicates {duplicates}, stored without a 202 seen {unasked}, "
        f"other outcomes {dict(other) or 'none'}"
    )
    return 0 if accepted and lost == 0 and duplicates == 0 and unasked == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
