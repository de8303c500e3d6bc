"""Where a request's work runs. Long work (a compressed body, a large body the fast path does not
accept) takes turns and, on the asyncio front, runs off the event loop; a large events body the
fast path accepts is short work, answered where a small one is, and its verdict is worked out
once for both the choice and the answer."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import MutableMapping
from typing import Any

import pytest

from mockserver import Backend, create_app, fastpath, pipeline
from mockserver.asgi_front import AsgiFront
from mockserver.ingest_front import LARGE_BODY, QUICK_BODY, IngestFront
from mockserver.pipeline import IncomingRequest
from mockserver.settings import Settings

HEADERS = {
    "host": "127.0.0.1:8080",
    "authorization": "Bearer test-api-key",
    "content-type": "application/json",
}


def events(count: int, **fields: Any) -> bytes:
    event = {"name": "e", "user_id": "u", "timestamp": "2025-01-17T05:39:22Z", **fields}
    return json.dumps({"events": [{**event, "id": f"ev-{i}"} for i in range(count)]}).encode()


#: a valid body past LARGE_BODY, within QUICK_BODY
MID = events(1000)
#: the same size, every timestamp wrong: only the full validator can name each violation
MID_BAD = MID.replace(b"2025-01-17T05:39:22Z", b"2025-01-17T05:39:22Q")


def test_the_bodies_are_of_the_size_meant() -> None:
    assert LARGE_BODY <= len(MID) == len(MID_BAD) <= QUICK_BODY


def front() -> tuple[IngestFront, Backend]:
    backend = Backend()
    app = create_app(backend=backend, allowed_hosts=("127.0.0.1",))
    assert isinstance(app.wsgi_app, IngestFront)
    return app.wsgi_app, backend


def request(body: bytes, *, path: str = "/v1/api/events", **headers: str) -> IncomingRequest:
    return IncomingRequest("POST", path, [("project_id", "test-project")], {**HEADERS, **headers}, body)


def answered_on(body: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bool]:
    """The status the asyncio front answers ``body`` with, and whether the pipeline ran on the
    event loop's thread."""
    ingest, _backend = front()
    asgi = AsgiFront(ingest, ingest.backend)
    threads: list[int] = []
    real = pipeline.handle

    def handle(*args: Any, **kwargs: Any) -> pipeline.Reply:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "handle", handle)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/api/events",
        "query_string": b"project_id=test-project",
        "headers": [(k.encode(), v.encode()) for k, v in HEADERS.items()],
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def run() -> int:
        await asgi(scope, receive, send)
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    (thread,) = threads
    return sent[0]["status"], thread == loop_thread


def test_a_large_body_the_fast_path_accepts_is_answered_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    assert answered_on(MID, monkeypatch) == (202, True)


def test_a_large_body_it_does_not_accept_is_answered_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    assert answered_on(MID_BAD, monkeypatch) == (400, False)


def test_a_small_body_is_answered_on_the_loop_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    assert answered_on(events(1), monkeypatch) == (202, True)
    assert answered_on(events(1, timestamp="then"), monkeypatch) == (400, True)


@pytest.mark.parametrize("body", [MID, MID_BAD], ids=["accepted", "refused"])
def test_the_fast_path_judges_a_large_body_once(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = fastpath._accept

    def counted(raw: bytes, settings: Settings) -> Any:
        calls.append(raw)
        return real(raw, settings)

    monkeypatch.setattr(fastpath, "_accept", counted)
    answered_on(body, monkeypatch)
    assert len(calls) == 1
    assert fastpath._ahead is None  # the answer took the verdict, and holds no body


def test_what_is_long_work() -> None:
    ingest, _backend = front()
    assert not ingest.long_work(request(events(1)))
    assert not ingest.long_work(request(MID))
    assert ingest.long_work(request(MID_BAD))
    assert ingest.long_work(request(gzip.compress(events(1)), **{"content-encoding": "gzip"}))
    past = events(1000, properties={"pad": "x" * 500})  # valid, but longer than quick work
    assert len(past) > QUICK_BODY and fastpath.accepts_ahead(past, Settings())
    assert ingest.long_work(request(past))
    # the fast path is for events: another endpoint's large body is long work
    profiles = json.dumps({"users": [{"user_id": f"u-{i}", "name": "x" * 40} for i in range(1000)]}).encode()
    assert len(profiles) >= LARGE_BODY
    assert ingest.long_work(request(profiles, path="/v1/api/users"))


def test_a_bug_in_the_choice_sends_the_request_the_long_way(monkeypatch: pytest.MonkeyPatch) -> None:
    ingest, _backend = front()

    def broken(raw: bytes, settings: Settings) -> bool:
        raise RuntimeError("a bug")

    monkeypatch.setattr(fastpath, "accepts_ahead", broken)
    assert ingest.long_work(request(MID))


def test_short_work_does_not_wait_for_the_turn_of_long_work() -> None:
    """On the event loop, waiting for that turn would hold every other request."""
    ingest, backend = front()
    replies: list[pipeline.Reply] = []
    with ingest.heavy:  # long work in progress
        quick = threading.Thread(target=lambda: replies.append(ingest.answer(request(MID))))
        quick.start()
        quick.join(timeout=30)
        assert not quick.is_alive()
    assert replies[0].status == 202
    assert len(backend.events("test-project")) == 1000


def test_a_verdict_reached_under_other_settings_is_not_used() -> None:
    before, after = Settings(), Settings.from_mapping({"max_properties": 1})
    body = events(3, properties={"a": 1, "b": 2})
    assert fastpath.accepts_ahead(body, before)
    assert fastpath.accept_events(body, after) is None
    # the verdict stays for its own settings, and is taken once
    accepted = fastpath.accept_events(body, before)
    assert accepted is not None and accepted[0] == ["ev-0", "ev-1", "ev-2"]
    assert fastpath._ahead is None


def test_a_verdict_is_for_its_own_body_only() -> None:
    settings = Settings()
    bad = events(2, timestamp="then")
    assert not fastpath.accepts_ahead(bad, settings)
    good = events(2)
    accepted = fastpath.accept_events(good, settings)
    assert accepted is not None and accepted[0] == ["ev-0", "ev-1"]
    # an equal body that is another object is judged again, not taken from the kept verdict
    assert fastpath.accepts_ahead(good, settings)
    assert fastpath.accept_events(bytes(bytearray(good)), settings) is not None
