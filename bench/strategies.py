"""How fast ``valid_bodies("/v1/api/events")`` draws, and how often batch sizes hit 1 and 1,000.

Run: ``python -m bench.strategies``. Both figures come from one run of Hypothesis's own engine
(``@given`` with a fixed example budget), so the cost includes generation as users see it.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from hypothesis import given, settings

from mockserver import spec
from pytest_plugin.strategies import valid_bodies

EXAMPLES = 300


def run(strategy: Any) -> tuple[float, list[int]]:
    sizes: list[int] = []

    @settings(max_examples=EXAMPLES, database=None, deadline=None)
    @given(body=strategy)
    def draw(body: dict[str, Any]) -> None:
        sizes.append(len(body["events"]))

    start = time.perf_counter()
    draw()
    return len(sizes) / (time.perf_counter() - start), sizes


def main() -> int:
    print(f"{'strategy':<52} {'examples/s':>10} {'size 1':>7} {'size 1000':>10}")
    for label, strategy in (
        ('valid_bodies("/v1/api/events")', valid_bodies(spec.EVENTS.path)),
        ('valid_bodies("/v1/api/events", min_size=1000)', valid_bodies(spec.EVENTS.path, min_size=1000)),
    ):
        rate, sizes = run(strategy)
        ones = sizes.count(1) / len(sizes)
        thousands = sizes.count(1000) / len(sizes)
        print(f"{label:<52} {rate:>10.0f} {ones:>7.0%} {thousands:>10.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
