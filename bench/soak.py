"""Memory under a long load: send events to ``marketap-mock serve`` and read its memory.

Run: ``python -m bench.soak [--events 100000] [--large 400] [--refused 200]``. The server runs in its own
processes (serve, granian, its worker; their memory is summed) with the default caps (100,000
stored events, 256 MiB of stored data, a 10,000-entry / 64 MiB journal). This prints the memory
before, after the first ``--events`` events, and after three and six times as many: by then the
caps are reached, and the memory must stay flat. Then 8 clients send ``--large`` bodies of one
15.5 MiB event each (6 GiB in all by default), and ``--refused`` 1 MiB bodies of bad items, each
a 400 with thousands of errors: the byte budget, which counts the errors an entry lists, must
hold the server under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.bodies import events_body
from bench.report import target

GIB_MIB = 1024.0


def large_body() -> bytes:
    """One event carrying 15.5 MiB of properties, in strings under the length limit."""
    properties = {f"blob{i}": "x" * 50_000 for i in range(325)}
    return json.dumps({"events": [{"name": "big", "user_id": "u-1", "properties": properties}]}).encode()


def error_heavy_body() -> bytes:
    """1 MiB of events that each break two rules: tens of thousands of errors, nothing stored."""
    event = {"name": "", "user_id": "u", "timestamp": "then"}
    count = (1 << 20) // len(json.dumps(event))
    return json.dumps({"events": [event] * count}).encode()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants: serve supervises granian, whose worker holds the state."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(current := todo.pop())
        todo.extend(children.get(current, []))
    return tree


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident and peak memory of the whole process tree (a sum of peaks, so an upper bound)."""
    rss = peak = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        rss += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        peak += int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return rss / 1024, peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--events", type=int, default=100_000, help="events in the first round (default 100,000)"
    )
    parser.add_argument(
        "--large", type=int, default=400, help="15.5 MiB bodies sent by 8 clients (default 400)"
    )
    parser.add_argument(
        "--refused", type=int, default=200, help="1 MiB bodies of bad items, each refused (default 200)"
    )
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = next(line.split()[-1] for line in server.stdout if line.startswith("Marketap fake serving on"))
        events_url = f"{url}/v1/api/events?project_id=test-project"
        headers = {"Authorization": "Bearer test-api-key", "Content-Type": "application/json"}
        body = events_body(1000)
        session = requests.Session()
        assert session.post(events_url, data=events_body(1), headers=headers).status_code == 202
        rows = [("started, one event", 1, *memory_mib(server.pid))]
        sent = 0
        start = time.perf_counter()
        for goal in (args.events, 3 * args.events, 6 * args.events):
            while sent < goal:
                assert session.post(events_url, data=body, headers=headers).status_code == 202
                sent += 1000
            rows.append((f"after {sent:,} events", sent, *memory_mib(server.pid)))
        elapsed = time.perf_counter() - start
        health = session.get(f"{url}/_mock/health").json()
        big = large_body()

        def send_large(_: int) -> int:
            with requests.Session() as own:
                return own.post(events_url, data=big, headers=headers, timeout=120).status_code

        large_start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send_large, range(args.large)))
        large_elapsed = time.perf_counter() - large_start
        assert set(statuses) == {202}, statuses
        rows.append((f"after {args.large} x 15.5 MiB", sent, *memory_mib(server.pid)))
        large_health = session.get(f"{url}/_mock/health").json()
        bad = error_heavy_body()
        refused_start = time.perf_counter()
        for _ in range(args.refused):
            assert session.post(events_url, data=bad, headers=headers, timeout=120).status_code == 400
        refused_elapsed = time.perf_counter() - refused_start
        rows.append((f"after {args.refused} x 1 MiB refused", sent, *memory_mib(server.pid)))
    finally:
        server.terminate()
        server.communicate(timeout=10)
    print(f"{'moment':<28} {'RSS MiB':>8} {'peak MiB':>9}")
    for label, _, rss, peak in rows:
        print(f"{label:<28} {rss:>8.1f} {peak:>9.1f}")
    growth = rows[3][3] / rows[2][3]
    print(f"peak after {sent:,} / after {rows[2][1]:,} events: {growth:.2f}x (1.00x: the caps hold it flat)")
    print(
        f"stored events {health['events']:,}, dropped {health['dropped']['events']:,}; "
        f"journal {health['journal']['entries']:,} entries, {health['journal']['bytes'] / 2**20:.1f} MiB, "
        f"dropped {health['dropped']['journal']:,}; {sent / elapsed:,.0f} events/s"
    )
    mib = args.large * len(big) / 2**20
    print(
        f"large events: {mib:,.0f} MiB in {large_elapsed:.1f} s ({mib / large_elapsed:,.0f} MiB/s); "
        f"stored {large_health['stored_bytes'] / 2**20:.1f} MiB, "
        f"dropped {large_health['dropped']['events']:,} events in all"
    )
    print(
        f"refused bodies: {args.refused} x {len(bad) / 2**20:.1f} MiB of bad items in {refused_elapsed:.1f} s"
    )
    peak = max(row[3] for row in rows)
    met = target("soak peak memory / 1 GiB, with 15.5 MiB events", peak / GIB_MIB, 1.0, at_most=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
