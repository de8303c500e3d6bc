"""No request stalls the others: while heavy requests are in flight (a gzip body of many members,
large bodies of bad items, full journal listings), ``/_mock/health`` keeps answering, on granian
and on werkzeug; and gzip bodies are inflated in linear time, with a cap on their members, on every
door.

The bound is relative, so that load on the machine slows both sides alike: the median wait for
health while the heavy requests run must stay under half the time one of them takes alone. A
server that does heavy work on its event loop makes a health request wait behind the requests
in hand, which run back to back: nearly one whole request at the median; one that shares the work
fairly answers within a few of the work's longest steps (one pass of a parser over one body, or
a piece of one), which are a small part of a request. The median, not the longest wait, is judged: a health request that comes
as six bodies arrive at once may wait for several such steps, and the longest wait of a run is
too much a matter of chance to fail on."""

from __future__ import annotations

import gzip
import json
import statistics
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic_core import from_json

from bench.bodies import bad_items_body
from mockserver import journal, spec
from mockserver.backend import Backend
from mockserver.pipeline import MAX_GZIP_MEMBERS
from tests.conftest import Post, server_url

AUTH = {"Authorization": "Bearer test-api-key", "Content-Type": "application/json"}
EVENTS = f"{spec.EVENTS.path}?project_id=test-project"
#: what share of one heavy request's time, alone, the median wait for health may take
HEALTH_SHARE = 1 / 2
#: the bound for heavy requests so short that timing them says nothing (the gzip members)
HEALTH_FLOOR = 0.25
#: how many heavy requests run at once in each case
HEAVY_AT_ONCE = 6


def empty_members(count: int) -> bytes:
    """``count`` gzip members of nothing, then one holding a valid body."""
    event = {"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}
    return gzip.compress(b"") * count + gzip.compress(json.dumps({"events": [event]}).encode())


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url + EVENTS, content=body, headers=headers, timeout=300).status_code


def heavy_gzip(url: str) -> Callable[[], Any]:
    body = empty_members(100_000)
    return lambda: _post(url, body, {**AUTH, "Content-Encoding": "gzip"})


def heavy_bad_items(url: str) -> Callable[[], Any]:
    body = bad_items_body()
    return lambda: _post(url, body, AUTH)


def heavy_listing(url: str) -> Callable[[], Any]:
    """Fill the journal (about 25 MiB of bodies), then list it all."""
    big = json.dumps({"events": [{"name": "e", "user_id": "u" * 200, "id": str(i)} for i in range(1000)]})
    with httpx.Client(timeout=120) as client:
        for _ in range(100):
            assert client.post(url + EVENTS, content=big, headers=AUTH).status_code == 202
    return lambda: httpx.get(url + "/_mock/requests", timeout=300).status_code


HEAVY = {"gzip_members": heavy_gzip, "bad_items": heavy_bad_items, "journal_listing": heavy_listing}


@pytest.mark.parametrize("heavy", HEAVY)
@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_health_answers_while_heavy_requests_are_in_flight(server: str, heavy: str) -> None:
    with server_url(server) as url:
        call = HEAVY[heavy](url)
        began = time.monotonic()
        call()
        alone = time.monotonic() - began
        results: list[Any] = []

        def run() -> None:
            results.append(call())

        workers = [threading.Thread(target=run) for _ in range(HEAVY_AT_ONCE)]
        for worker in workers:
            worker.start()
        waits: list[float] = []
        with httpx.Client(timeout=300) as client:
            while any(w.is_alive() for w in workers) or not waits:
                started = time.monotonic()
                assert client.get(url + "/_mock/health").status_code == 200
                waits.append(time.monotonic() - started)
                time.sleep(0.05)
        for worker in workers:
            worker.join()
        assert len(results) == HEAVY_AT_ONCE and all(isinstance(r, int) for r in results)
        bound = max(alone * HEALTH_SHARE, HEALTH_FLOOR)
        assert statistics.median(waits) < bound, (alone, sorted(waits))


def test_a_body_of_too_many_gzip_members_is_refused_naming_them(client: Any) -> None:
    answer = client.post(
        EVENTS, data=empty_members(MAX_GZIP_MEMBERS), headers={**AUTH, "Content-Encoding": "gzip"}
    )
    assert answer.status_code == 400
    (error,) = answer.get_json()["errors"]
    assert error["field"] == "body" and f"more than {MAX_GZIP_MEMBERS} gzip members" in error["reason"]


def test_a_body_of_a_few_gzip_members_is_accepted(client: Any) -> None:
    body = empty_members(MAX_GZIP_MEMBERS - 1)
    answer = client.post(EVENTS, data=body, headers={**AUTH, "Content-Encoding": "gzip"})
    assert answer.status_code == 202, answer.get_json()


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_many_gzip_members_are_refused_over_a_socket(server: str) -> None:
    with server_url(server) as url:
        answer = httpx.post(
            url + EVENTS,
            content=empty_members(400_000),
            headers={**AUTH, "Content-Encoding": "gzip"},
            timeout=300,
        )
        assert answer.status_code == 400
        assert "gzip members" in answer.json()["errors"][0]["reason"]


def test_inflating_is_linear_in_the_number_of_members(client: Any) -> None:
    """The work a body of members costs is counted in inflaters started, not timed: each member
    starts one, and none past the cap is started."""
    started = 0
    real = zlib.decompressobj

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal started
        started += 1
        return real(*args, **kwargs)

    body = empty_members(10_000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mockserver.pipeline.zlib.decompressobj", counting)
        answer = client.post(EVENTS, data=body, headers={**AUTH, "Content-Encoding": "gzip"})
    assert answer.status_code == 400
    assert started <= MAX_GZIP_MEMBERS


@pytest.mark.parametrize(
    ("path", "body", "items"),
    [
        (spec.EVENTS.path, {"events": [{"name": ""}, {"name": 1}, {"user_id": "u"}]}, 3),
        (spec.BULK_DELETION.path, {"user_ids": ["u-1", 5]}, 2),
        (spec.DELETION.path, {"user_id": 5}, None),
        (spec.PROFILES.path, {"profiles": 5}, None),
    ],
)
def test_a_refused_body_is_parsed_once(
    tc_post: Post, backend: Backend, monkeypatch: pytest.MonkeyPatch, path: str, body: Any, items: int | None
) -> None:
    """A body the validator refused is parsed once more to explain it, and the journal counts
    its items from that parse: a body near the size limit costs a tenth of a second per parse,
    with the GIL held throughout."""
    parses: list[bytes] = []

    def counted(raw: bytes, **kw: Any) -> Any:
        parses.append(raw)
        return from_json(raw, **kw)

    monkeypatch.setattr(journal, "from_json", counted)
    assert tc_post(path, body).status == 400
    [entry] = backend.requests()
    assert (len(parses), entry.items) == (1, items)
    # the entry's own view of the body still parses it when asked
    assert entry.json == body


def test_the_overflow_scan_holds_the_gil_in_short_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """A regular expression search holds the GIL until it ends: over a body near the size limit
    in one call, a quarter of a second. In windows, no call searches more than one window and
    the span of a match, and a match across a window's edge is still found."""
    window = 1024
    monkeypatch.setattr(journal, "_WINDOW", window)
    spans: list[int] = []
    pattern = journal._MAY_OVERFLOW

    class Recording:
        def search(self, raw: bytes, start: int, end: int) -> Any:
            spans.append(min(end, len(raw)) - start)
            return pattern.search(raw, start, end)

    monkeypatch.setattr(journal, "_MAY_OVERFLOW", Recording())
    plain = json.dumps({"events": [{"name": "x" * 40}] * 200}).encode()
    assert journal.parse_json(plain) is not None
    assert len(spans) > 5 and max(spans) <= window + journal._OVERFLOW_SPAN - 1
    edge = 3 * window
    for number in ("1e999", "9" * 400 + ".0"):
        for before in (1, 2, 150, 299, 300):
            # the number starts `before` bytes ahead of a window's edge
            head = '{"pad":"' + "x" * (edge - before - len('{"pad":"","n":')) + '","n":'
            raw = f"{head}{number}}}".encode()
            assert raw.index(number.encode()) == edge - before
            assert journal.parse_json(raw) is None, (number, before)
