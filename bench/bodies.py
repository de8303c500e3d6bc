"""Request bodies shared by the benchmarks (the peers' load-test body, plus a realistic one)."""

from __future__ import annotations

import json
from typing import Any


def peer_event(i: int) -> dict[str, Any]:
    """The event the peer measurements used (research/peer-scripts/make_bodies.py)."""
    return {
        "name": "page_view",
        "user_id": f"user_{i:06d}",
        "timestamp": f"2025-01-02T03:{i % 60:02d}:{(i * 7) % 60:02d}.123Z",
        "properties": {
            "path": f"/products/{i}",
            "referrer": "https://example.com/search?q=shoes",
            "plan": "pro",
            "count": i,
            "ratio": 0.5,
            "flag": True,
        },
    }


def purchase_event(i: int) -> dict[str, Any]:
    """A purchase with reserved properties and Korean text, as a shop would send it."""
    return {
        "id": f"evt-{i:06d}",
        "name": "mkt_purchase",
        "user_id": f"u-{i % 97}",
        "timestamp": "2025-01-17T14:39:22+09:00",
        "properties": {
            "mkt_revenue": 39000.0,
            "mkt_order_id": f"ORD-{i}",
            "mkt_items": [
                {
                    "mkt_product_id": "P-1",
                    "mkt_product_name": "티셔츠",
                    "mkt_product_price": 19500.0,
                    "mkt_quantity": 2,
                    "mkt_category1": "의류",
                }
            ],
        },
    }


def bad_items_body() -> bytes:
    """An events body near the size limit whose every one of 250,000 items breaks several rules:
    the longest a single request keeps the fake busy (the stall test and ``bench.stalls``)."""
    item = {"name": "", "user_id": "", "timestamp": "x", "id": 5}
    return json.dumps({"events": [item] * 250_000}).encode()


def events_body(n: int, *, kind: str = "peer") -> bytes:
    make = peer_event if kind == "peer" else purchase_event
    # ensure_ascii like Python's json.dumps default: Korean arrives as \\u escapes
    return json.dumps({"events": [make(i) for i in range(n)]}, separators=(",", ":")).encode()
