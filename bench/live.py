"""Live throughput, side by side in one run: ``marketap-mock serve`` against Stoplight Prism fed
the fake's own OpenAPI document, and against a bare Flask app on the same server.

Run: ``python -m bench.live [--runs 3 --duration 5]``. Needs ``wrk`` (Debian: ``apt-get install
wrk``); Prism's row needs ``npm`` and is skipped with a note otherwise. Each server gets a
warm-up, then ``--runs`` runs of ``--duration`` seconds with 8 connections; the table shows the
median, and the ratios that are the targets: serve >= 1.0x Prism on 1-event bodies and >= 1.5x
on 1,000-event bodies, and >= 0.8x bare Flask on 1,000-event bodies.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.bodies import events_body
from bench.report import skipped, target

HERE = Path(__file__).parent
CACHE = Path(os.environ.get("MARKETAP_BENCH_CACHE", Path.home() / ".cache" / "marketap-mock-bench"))
QUERY = "/v1/api/events?project_id=test-project"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: list[str], port: int, ready_path: str, cwd: Path | None = None) -> Iterator[None]:
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # answering, if not with 200
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{command[0]} did not start") from None
                time.sleep(0.2)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wrk(port: int, body: Path, seconds: float) -> tuple[float, int]:
    env = {**os.environ, "BODY_FILE": str(body), "AUTH": "Bearer test-api-key"}
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c8",
            f"-d{int(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "post.lua"),
            f"http://127.0.0.1:{port}{QUERY}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    match = re.search(r"RESULT requests=(\d+) duration_us=(\d+) rps=([\d.]+).*non2xx=(\d+)", done.stdout)
    assert match, done.stdout
    return float(match.group(3)), int(match.group(4))


def prism_command(port: int, spec: Path) -> list[str] | None:
    prism = CACHE / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        if not shutil.which("npm"):
            return None
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(CACHE),
                "@stoplight/prism-cli@5",
            ],
            check=True,
            capture_output=True,
        )
    return [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "error", str(spec)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench.live: skipped, wrk is not installed (Debian: apt-get install wrk)")
        return 0
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bodies = {}
        for n in (1, 1000):
            bodies[n] = work / f"body_{n}.json"
            bodies[n].write_bytes(events_body(n))
        spec = work / "openapi.json"
        spec.write_text(
            subprocess.run(
                [python, "-m", "mockserver", "openapi"], capture_output=True, text=True, check=True
            ).stdout
        )
        servers: list[tuple[str, list[str] | None, str, int]] = []
        for label, extra in (
            ("marketap-mock serve (granian)", []),
            ("marketap-mock serve --server werkzeug", ["--server", "werkzeug"]),
        ):
            port = free_port()
            servers.append(
                (
                    label,
                    [python, "-m", "mockserver", "serve", "--port", str(port), *extra],
                    "/_mock/health",
                    port,
                )
            )
        port = free_port()
        servers.append(
            (
                "bare Flask, granian (no checks, no state)",
                [
                    python,
                    "-m",
                    "granian",
                    "--interface",
                    "wsgi",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                    "--blocking-threads",
                    "1",
                    "--no-log",
                    "bench.bare_app:app",
                ],
                "/_mock/health",
                port,
            )
        )
        port = free_port()
        servers.append(("Prism 5, -v error, the fake's OpenAPI", prism_command(port, spec), "/", port))

        results: dict[str, dict[int, tuple[float, int]]] = {}
        for label, command, ready, port in servers:
            if command is None:
                print(f"{label}: skipped, npm is not installed")
                continue
            with running(command, port, ready, cwd=HERE.parent):
                results[label] = {}
                for n, body in bodies.items():
                    wrk(port, body, 2)  # warm-up
                    runs = [wrk(port, body, args.duration) for _ in range(args.runs)]
                    results[label][n] = (statistics.median(r[0] for r in runs), sum(r[1] for r in runs))

    print(f"\n{'server':<44} {'1 event req/s':>14} {'1,000 events req/s':>19} {'non-2xx':>8}")
    for label, by_size in results.items():
        non2xx = by_size[1][1] + by_size[1000][1]
        print(f"{label:<44} {by_size[1][0]:>14,.0f} {by_size[1000][0]:>19,.0f} {non2xx:>8}")
    fake = results["marketap-mock serve (granian)"]
    prism = results.get("Prism 5, -v error, the fake's OpenAPI")
    bare = results["bare Flask, granian (no checks, no state)"]
    print()
    if prism:
        target("serve / Prism -v error, 1 event", fake[1][0] / prism[1][0], 1.0)
        target("serve / Prism -v error, 1,000 events", fake[1000][0] / prism[1000][0], 1.5)
    else:
        for size in ("1 event", "1,000 events"):
            skipped(f"serve / Prism -v error, {size}", "npm is not installed")
    target("serve / bare Flask on granian, 1,000 events", fake[1000][0] / bare[1000][0], 0.8)
    non2xx = sum(n for by_size in results.values() for _, n in by_size.values())
    if non2xx:
        print(f"{non2xx} non-2xx answers: the figures above do not count", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
