"""How long ``/_mock/health`` waits while heavy requests are in flight, on granian and werkzeug.

Run: ``python -m bench.stalls [--rounds 2]``. Each server is ``marketap-mock serve --quiet``.
The heavy request is a body near the size limit whose every item breaks several rules: the
longest a single request keeps the fake busy. One is timed alone; then six are sent at once
while health is asked every 50 ms, and the waits are printed: median, 90th percentile and
longest, and the median as a share of one heavy request alone (what
``tests/mockserver/test_stalls.py`` holds under a half). A health request should wait only for
the longest step that holds the GIL (one pass of a parser over one body, or a piece of one),
not for the requests in hand.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack

from bench.bodies import bad_items_body
from bench.live import free_port, running

EVENTS = "/v1/api/events?project_id=test-project"
AT_ONCE = 6


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url + EVENTS,
        data=body,
        headers={"Authorization": "Bearer test-api-key", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def measure(url: str, body: bytes) -> tuple[float, list[float]]:
    """One heavy request's time alone, and health's waits while six are in flight."""
    began = time.monotonic()
    post(url, body)
    alone = time.monotonic() - began
    workers = [threading.Thread(target=post, args=(url, body)) for _ in range(AT_ONCE)]
    for worker in workers:
        worker.start()
    waits: list[float] = []
    while any(worker.is_alive() for worker in workers):
        began = time.monotonic()
        with urllib.request.urlopen(url + "/_mock/health", timeout=300) as answer:
            answer.read()
        waits.append(time.monotonic() - began)
        time.sleep(0.05)
    return alone, waits


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    body = bad_items_body()
    servers = {"granian": [], "werkzeug": ["--server", "werkzeug"]}
    print(f"{len(body) / 1e6:.1f} MB bodies of bad items, {AT_ONCE} at once; health's waits in ms")
    print(f"{'server':<10} {'alone':>7} {'median':>7} {'p90':>7} {'longest':>8} {'median/alone':>13}")
    with ExitStack() as stack:
        urls = {}
        for name, extra in servers.items():
            port = free_port()
            command = [sys.executable, "-m", "mockserver", "serve", "--quiet", "--port", str(port), *extra]
            stack.enter_context(running(command, port, "/_mock/health"))
            urls[name] = f"http://127.0.0.1:{port}"
        for _ in range(args.rounds):
            for name, url in urls.items():
                alone, waits = measure(url, body)
                ordered = sorted(waits)
                median = statistics.median(ordered)
                p90 = ordered[int(len(ordered) * 0.9)]
                print(
                    f"{name:<10} {alone * 1e3:>7.0f} {median * 1e3:>7.0f} {p90 * 1e3:>7.0f} "
                    f"{ordered[-1] * 1e3:>8.0f} {median / alone:>12.2f}x"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
