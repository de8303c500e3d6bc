"""What an open dashboard costs other clients: ``marketap-mock serve`` holding 100,000 events,
a client posting one event at a time, and beside it, in turn, nothing, the Events tab's old
poll (every event, each second) and its poll now (``?after=`` the last one seen, each second).
Also one Profiles tab fetch of 100,000 profiles: every one (as before) and a page of the newest.

Run: ``python -m bench.dashboard_poll [--events 100000 --seconds 6]``. Prints the client's
median and 95th-percentile latency in each case and the ratios to the idle case, measured in one
run; the target: the dashboard's poll slows the client's p95 by at most 1.5x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.request
from typing import Any

from bench.live import free_port, running
from bench.report import target

AUTH = {"Authorization": "Bearer test-api-key", "Content-Type": "application/json"}


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, headers=AUTH, method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.loads(answer.read())


def client_latencies(base: str, seconds: float, poll: str | None) -> list[float]:
    """The client's latencies over ``seconds``, with a dashboard polling ``poll`` each second."""
    stop = threading.Event()

    def dashboard() -> None:
        last = get(f"{base}/_mock/events?project_id=test-project&limit=200")["last"] or 0
        while not stop.is_set():
            if poll == "all":
                get(f"{base}/_mock/events?project_id=test-project")
            else:
                last = (
                    get(f"{base}/_mock/events?project_id=test-project&after={last}&limit=200")["last"] or last
                )
            stop.wait(1.0)

    poller = threading.Thread(target=dashboard, daemon=True) if poll else None
    if poller:
        poller.start()
    profile = json.dumps({"profiles": [{"user_id": "u"}]}).encode()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        post(f"{base}/v1/api/profile/user?project_id=other", profile)
        times.append(time.perf_counter() - start)
        time.sleep(0.005)
    stop.set()
    if poller:
        poller.join()
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--server", choices=("granian", "werkzeug"), default="granian")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--quiet", "--any-project"]
    command += ["--server", args.server]
    with running(command, port, "/_mock/health"):
        batch = {"events": [{"name": "page_view", "user_id": f"u-{i}"} for i in range(1000)]}
        body = json.dumps(batch).encode()
        for _ in range(args.events // 1000):
            post(f"{base}/v1/api/events?project_id=test-project", body)
        stored = get(f"{base}/_mock/health")["events"]
        print(
            f"{args.server}: {stored:,} events stored; "
            f"a client posts one profile at a time for {args.seconds:.0f} s per case"
        )
        for label, query in (("every event", ""), ("after the last seen", f"&after={stored}&limit=200")):
            start = time.perf_counter()
            get(f"{base}/_mock/events?project_id=test-project{query}")
            print(f"  one poll, {label}: {(time.perf_counter() - start) * 1000:.1f} ms")
        # the Profiles tab fetches again whenever anything stored changes: a page, not every one
        for start_at in range(0, args.events, 1000):
            users = range(start_at, start_at + 1000)
            profiles = json.dumps(
                {"profiles": [{"user_id": f"u-{i}", "properties": {"plan": "pro"}} for i in users]}
            )
            post(f"{base}/v1/api/profile/user?project_id=test-project", profiles.encode())
        fetch = {}
        for label, query in (("every profile", ""), ("the newest 200", "&limit=200")):
            start = time.perf_counter()
            total = get(f"{base}/_mock/profiles?project_id=test-project{query}")["total"]
            fetch[label] = time.perf_counter() - start
            print(f"  one profiles fetch of {total:,}, {label}: {fetch[label] * 1000:.1f} ms")
        print(f"  a page costs {fetch['the newest 200'] / fetch['every profile']:.3f}x every profile")
        rows = {}
        for case, poll in (
            ("idle", None),
            ("old poll (every event)", "all"),
            ("poll after the last seen", "after"),
        ):
            times = client_latencies(base, args.seconds, poll)
            rows[case] = (statistics.median(times), p95(times))
            print(f"  {case:28} median {rows[case][0] * 1000:7.2f} ms   p95 {rows[case][1] * 1000:7.2f} ms")
    idle = rows["idle"][1]
    print(f"  old poll: p95 {rows['old poll (every event)'][1] / idle:.1f}x idle")
    met = target(
        "dashboard's events poll, client p95 vs idle",
        rows["poll after the last seen"][1] / idle,
        1.5,
        at_most=True,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
