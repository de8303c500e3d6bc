"""Live throughput, side by side in one run: ``marketap-mock serve`` against Stoplight Prism fed
the fake's own OpenAPI document, and against a bare Flask app on the same server.

Run: ``python -m bench.live [--rounds 5 --duration 3]``. Needs ``wrk`` (Debian: ``apt-get
install wrk``); Prism's row needs ``npm`` and is skipped with a note otherwise. Every server runs
at once; after a warm-up, each round gives each server ``--duration`` seconds of 8 connections
in turn. Each ratio is the median of the rounds' ratios, with its spread. Targets, with every
check on: serve >= 1.0x a bare Flask app on the same granian and >= 2.0x Prism, on 1-event and
1,000-event bodies; the ceiling (an ASGI app that reads the body and answers) is printed beside,
and the same app on granian's RSGI interface, to show what a front there would save.
Each server's CPU time per request (with every process below it, from /proc) is printed too: it
depends far less on what else the machine is doing than requests per second do.
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
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.bodies import events_body
from bench.report import Ratio, skipped, target
from mockserver.granian_server import event_loop

HERE = Path(__file__).parent
CACHE = Path(os.environ.get("MARKETAP_BENCH_CACHE", Path.home() / ".cache" / "marketap-mock-bench"))
QUERY = "/v1/api/events?project_id=test-project"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: list[str], port: int, ready_path: str, cwd: Path | None = None) -> Iterator[int]:
    """Run ``command`` until the block ends; yields its process id."""
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
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def cpu_seconds(root: int) -> float:
    """CPU time (user and system) so far of process ``root`` and every live process below it
    (``serve`` starts granian in a session of its own, so a process group would miss it)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # the fields after the command's name, which is in parentheses and may hold spaces
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return sum(ticks.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def wrk(port: int, body: Path, seconds: float) -> tuple[float, int, int]:
    """Requests per second, non-2xx answers, and requests answered."""
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
    return float(match.group(3)), int(match.group(4)), int(match.group(1))


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


def granian(app: str, interface: str, port: int) -> list[str]:
    # the event loop serve runs on, so that the ceiling is the same server's
    return [
        sys.executable, "-m", "granian", "--interface", interface, "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--blocking-threads", "1", "--loop", event_loop(),
        "--no-log", app,
    ]  # fmt: skip


FAKE, WERKZEUG, BARE, CEILING, RSGI_CEILING, PRISM = (
    "marketap-mock serve (granian)",
    "marketap-mock serve --server werkzeug",
    "bare Flask, granian (parse, answer 202)",
    "ceiling: ASGI, granian (read, answer 202)",
    "the same on granian's RSGI interface",
    "Prism 5, -v error, the fake's OpenAPI",
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench.live: skipped, wrk is not installed (Debian: apt-get install wrk)")
        return 0
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
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
        commands: dict[str, tuple[list[str] | None, str]] = {}
        ports = {label: free_port() for label in (FAKE, WERKZEUG, BARE, CEILING, RSGI_CEILING, PRISM)}
        mock = [python, "-m", "mockserver", "serve", "--port"]
        commands[FAKE] = ([*mock, str(ports[FAKE])], "/_mock/health")
        commands[WERKZEUG] = ([*mock, str(ports[WERKZEUG]), "--server", "werkzeug"], "/_mock/health")
        commands[BARE] = (granian("bench.bare_app:app", "wsgi", ports[BARE]), "/_mock/health")
        commands[CEILING] = (granian("bench.ceiling_app:app", "asgi", ports[CEILING]), "/")
        commands[RSGI_CEILING] = (granian("bench.ceiling_app:rsgi_app", "rsgi", ports[RSGI_CEILING]), "/")
        commands[PRISM] = (prism_command(ports[PRISM], spec), "/")
        # every server runs for the whole benchmark, and each round measures each of them in
        # turn: the ratios within a round share the machine's state of the moment
        roots: dict[str, int] = {}
        for label, (command, ready) in commands.items():
            if command is None:
                print(f"{label}: skipped, npm is not installed")
                continue
            roots[label] = stack.enter_context(running(command, ports[label], ready, cwd=HERE.parent))
        rps: dict[str, dict[int, list[float]]] = {label: {1: [], 1000: []} for label in roots}
        cpu: dict[str, dict[int, list[float]]] = {label: {1: [], 1000: []} for label in roots}
        non2xx = 0
        for n, body in bodies.items():
            for label in roots:
                wrk(ports[label], body, 1)  # warm-up
            for _ in range(args.rounds):
                for label, root in roots.items():
                    before = cpu_seconds(root)
                    rate, bad, count = wrk(ports[label], body, args.duration)
                    cpu[label][n].append((cpu_seconds(root) - before) / count * 1e6)
                    rps[label][n].append(rate)
                    non2xx += bad

    print(f"\n{'server, medians of rounds':<44} {'1 event':>18} {'1,000 events':>18}")
    print(f"{'':<44} {'req/s':>8} {'CPU µs':>9} {'req/s':>8} {'CPU µs':>9}")
    for label in rps:
        row = [
            f"{statistics.median(rps[label][n]):>8,.0f} {statistics.median(cpu[label][n]):>9,.0f}"
            for n in (1, 1000)
        ]
        print(f"{label:<44} {' '.join(row)}")
    print()

    def ratio(over: str, n: int) -> Ratio:
        return Ratio(tuple(a / b for a, b in zip(rps[FAKE][n], rps[over][n], strict=True)))

    def cpu_ratio(over: str, n: int) -> Ratio:
        # the other's CPU per request over the fake's: above 1 when the fake does more with less
        return Ratio(tuple(b / a for a, b in zip(cpu[FAKE][n], cpu[over][n], strict=True)))

    def ceilings(n: int) -> Ratio:
        # below 1: what the server itself costs per request is less on RSGI than on ASGI
        return Ratio(tuple(b / a for a, b in zip(cpu[CEILING][n], cpu[RSGI_CEILING][n], strict=True)))

    for n, size in ((1, "1 event"), (1000, "1,000 events")):
        target(f"serve / bare Flask on granian, {size}", ratio(BARE, n), 1.0)
        print(f"  the same by CPU per request: {cpu_ratio(BARE, n)}")
        if PRISM in rps:
            target(f"serve / Prism -v error, {size}", ratio(PRISM, n), 2.0)
            print(f"  the same by CPU per request: {cpu_ratio(PRISM, n)}")
        else:
            skipped(f"serve / Prism -v error, {size}", "npm is not installed")
        print(f"  serve / ceiling (ASGI, no parsing), {size}: {ratio(CEILING, n)}")
        print(f"  CPU per request, RSGI ceiling over ASGI ceiling, {size}: {ceilings(n)}")
    if non2xx:
        print(f"{non2xx} non-2xx answers: the figures above do not count", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
