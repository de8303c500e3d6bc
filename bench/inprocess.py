"""A 1,000-event POST through the whole app, in process, as a ratio to ``json.loads``.

Run: ``python -m bench.inprocess``. Each figure is the median of several repeats measured in
the same run, so the ratio holds on a noisy machine. Target: at most 2.5x.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.bodies import events_body
from bench.report import target
from mockserver import Backend, create_app

URL = "/v1/api/events?project_id=test-project"
HEADERS = {"Authorization": "Bearer test-api-key", "Content-Type": "application/json"}


def median_ms(fn: Callable[[], object], *, repeats: int = 9, min_time: float = 0.2) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < min_time:
            fn()
            n += 1
        samples.append(elapsed / n * 1000)
    return statistics.median(samples)


def rows() -> list[tuple[str, float, float]]:
    out = []
    for kind in ("peer", "purchase"):
        body = events_body(1000, kind=kind)
        # a large cap so the journal and store keep working as they would in a long test run
        backend = Backend({"journal_max_entries": 1000, "max_stored_events": 100_000})
        client = create_app(backend=backend).test_client()

        def post(client: Any = client, body: bytes = body) -> None:
            response = client.post(URL, data=body, headers=HEADERS)
            assert response.status_code == 202, response.data

        floor = median_ms(lambda body=body: json.loads(body))
        out.append((f"1,000 {kind} events ({len(body):,} B)", floor, median_ms(post)))
    return out


def main() -> int:
    print(f"{'body':<36} {'json.loads ms':>14} {'POST ms':>9} {'ratio':>7}")
    worst = 0.0
    for name, floor, cost in rows():
        ratio = cost / floor
        worst = max(worst, ratio)
        print(f"{name:<36} {floor:>14.3f} {cost:>9.3f} {ratio:>6.2f}x")
    target("in-process 1,000-event POST / json.loads, worst body", worst, 2.5, at_most=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
