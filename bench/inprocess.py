"""A 1,000-event POST through the whole app, in process, as a ratio to ``json.loads``.

Run: ``python -m bench.inprocess``. ``json.loads`` and the POST are timed in turn, round after
round, and each ratio is the median of the rounds' ratios, so it holds on a noisy machine.
Targets: plain events at most 1.3x, a purchase body with reserved properties and Korean text at
most 1.5x. Two rows without a target follow. One posts the purchases with a property of the
shop's own in the last event: properties that are reserved ones alone are typed in one decode,
and such a body is refused by that decode at its last event and judged the general way (the
first time; the next goes the general way first). The other posts plain events that each carry
an id of their own, every body new, to a store kept at its cap: what deduplication by id costs
when it always finds the id new, and the stored ids are dropped again as the cap moves on.

The same body is posted in every round. The purchases carry ids, all stored from the second
POST on: each is a client's retry, its events kept once. Plain events carry none and are stored
each time.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable
from typing import Any

from bench.bodies import events_body, peer_event
from bench.report import Ratio, side_by_side, target
from mockserver import Backend, create_app

URL = "/v1/api/events?project_id=test-project"
HEADERS = {"Authorization": "Bearer test-api-key", "Content-Type": "application/json"}
# peer events (plain properties), then purchases (reserved properties, nested items, Korean)
GOALS = (1.3, 1.5)


def _own_property_last() -> bytes:
    events = json.loads(events_body(1000, kind="purchase"))["events"]
    events[-1]["properties"]["channel"] = "app"
    return json.dumps({"events": events}, separators=(",", ":")).encode()


def rows() -> list[tuple[str, Ratio, float, float]]:
    out = []
    bodies = {
        "peer events": events_body(1000, kind="peer"),
        "purchase events": events_body(1000, kind="purchase"),
        "purchases, one own property": _own_property_last(),
    }
    for kind, body in bodies.items():
        # a large cap so the journal and store keep working as they would in a long test run
        backend = Backend({"journal_max_entries": 1000, "max_stored_events": 100_000})
        client = create_app(backend=backend).test_client()

        def post(client: Any = client, body: bytes = body) -> None:
            response = client.post(URL, data=body, headers=HEADERS)
            assert response.status_code == 202, response.data

        out.append((f"1,000 {kind} ({len(body):,} B)", *_against_loads(body, post)))
    out.append(_unique_ids_row())
    return out


def _against_loads(body: bytes, post: Callable[[], None]) -> tuple[Ratio, float, float]:
    """``post`` against ``json.loads(body)`` in alternating rounds: the ratio, and the median
    milliseconds of each."""
    return side_by_side(lambda: json.loads(body), post)


def _unique_ids_row() -> tuple[str, Ratio, float, float]:
    """Plain events with ids never sent before, into a store at its cap (forty bodies sent in
    turn, the cap holding ten)."""

    def body(n: int) -> bytes:
        events = [{"id": f"e-{n}-{i}", **peer_event(i)} for i in range(1000)]
        return json.dumps({"events": events}, separators=(",", ":")).encode()

    bodies = itertools.cycle([body(n) for n in range(40)])
    # the cap holds ten bodies, so every id sent again (after forty) is new once more
    backend = Backend({"journal_max_entries": 1000, "max_stored_events": 10_000})
    client = create_app(backend=backend).test_client()
    sample = next(bodies)

    def post() -> None:
        response = client.post(URL, data=next(bodies), headers=HEADERS)
        assert response.status_code == 202, response.data

    for _ in range(40):
        post()  # the store at its cap before the first round
    health = backend.health()
    assert health["events"] == 10_000 and health["dropped"]["events"] > 0, health
    return (f"1,000 events, new ids ({len(sample):,} B)", *_against_loads(sample, post))


def main() -> int:
    print(f"{'body':<46} {'json.loads ms':>14} {'POST ms':>9}  ratio, median of rounds")
    measured = rows()
    for name, ratio, floor, cost in measured:
        print(f"{name:<46} {floor:>14.3f} {cost:>9.3f}  {ratio}")
    for (name, ratio, _, _), goal in zip(measured[: len(GOALS)], GOALS, strict=True):
        target(f"in-process POST / json.loads, {name.split(' (')[0]}", ratio, goal, at_most=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
