"""The asyncio front answers ingestion straight from the ASGI scope, without a WSGI environ.
Each request here goes to two fronts, one answering that way and one through the WSGI app as
every other server does, each with a backend of its own: the bytes sent back, the journal and
the stored events must be the same."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from mockserver import Backend, create_app
from mockserver.asgi_front import AsgiFront
from mockserver.ingest_front import LARGE_BODY

KEY = "test-api-key"
SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
EVENT = json.dumps({"events": [{"name": "mkt_login", "user_id": "u-1"}]}).encode()
BAD = json.dumps({"events": [{"name": "", "user_id": "u-1", "timestamp": "then"}]}).encode()
HEAVY = json.dumps(
    {"events": [{"name": "e", "user_id": f"u-{i}", "properties": {"pad": "x" * 60}} for i in range(1000)]}
).encode()
LIMIT = 2 * LARGE_BODY


@dataclass
class Case:
    headers: list[tuple[bytes, bytes]]
    body: bytes = EVENT
    path: str = "/v1/api/events"
    query: bytes = b"project_id=test-project"
    method: str = "POST"
    #: the body as messages; "disconnect" ends it as a client closing early
    pieces: list[bytes | str] = field(default_factory=list)
    fault: dict[str, Any] | None = None


def plain(*extra: tuple[bytes, bytes], auth: bytes = b"Bearer " + KEY.encode()) -> list[tuple[bytes, bytes]]:
    return [
        (b"host", b"127.0.0.1:8080"),
        (b"authorization", auth),
        (b"content-type", b"application/json"),
        *extra,
    ]


CASES = {
    "valid": Case(plain()),
    "valid with a length": Case(plain((b"content-length", str(len(EVENT)).encode()))),
    "invalid items": Case(plain(), body=BAD),
    "no key": Case(plain()[:1] + plain()[2:]),
    "a wrong key, a secret echoed": Case(
        plain((b"x-api-key", SECRET.encode())), query=b"project_id=p&token=" + SECRET.encode()
    ),
    "a repeated header": Case(plain((b"x-trace", b"a"), (b"x-trace", b"b"))),
    "underscores in a name": Case(plain((b"x_api_key", SECRET.encode()), (b"X-Api-Key", b"second"))),
    "an empty content type": Case(
        [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer " + KEY.encode()), (b"content-type", b"")]
    ),
    "a charset": Case([*plain()[:2], (b"content-type", b"application/json; charset=utf-8")]),
    "a bad length": Case(plain((b"content-length", b"12abc"))),
    "a length past the body": Case(plain((b"content-length", b"5000")), pieces=[EVENT, "disconnect"]),
    "a length past a body said to be whole": Case(plain((b"content-length", b"5000"))),
    "a length short of the body": Case(plain((b"content-length", b"10"))),
    "a length under the limit, a body past it": Case(
        plain((b"content-length", b"10")), body=b"{" + b" " * (LIMIT + 10)
    ),
    "a length past the limit": Case(plain((b"content-length", str(LIMIT + 1).encode()))),
    "a body past the limit": Case(plain(), body=b" " * (LIMIT + 10)),
    "a body cut short": Case(plain(), pieces=[EVENT[:10], "disconnect"]),
    "a body in pieces": Case(plain(), pieces=[EVENT[:10], EVENT[10:20], EVENT[20:]]),
    "a heavy body": Case(plain(), body=HEAVY),
    "gzip": Case(plain((b"content-encoding", b"gzip")), body=gzip.compress(EVENT)),
    "a gzip bomb": Case(plain((b"content-encoding", b"gzip")), body=gzip.compress(b" " * (LIMIT * 4))),
    "an odd query": Case(plain(), query=b"project_id=test-project&x=%FF%FE&y=\xff&&z"),
    "the project twice": Case(plain(), query=b"project_id=test-project&project_id=other"),
    "no project": Case(plain(), query=b""),
    "GET": Case(plain(), method="GET", body=b""),
    "HEAD": Case(plain(), method="HEAD", body=b""),
    "no such path": Case(plain(), path="/v1/api/nope"),
    "a path outside the API": Case(plain(), path="/favicon.ico"),
    "a doubled slash": Case(plain(), path="//v1/api/events"),
    "a foreign host": Case([(b"host", b"evil.example"), *plain()[1:]]),
    "two hosts": Case([(b"host", b"127.0.0.1"), (b"host", b"evil.example"), *plain()[1:]]),
    "a status fault": Case(plain(), fault={"status": 503, "retry_after": 2}),
    "a dropped connection": Case(plain(), fault={"drop": True}),
    "a latency": Case(plain(), fault={"latency_ms": 20}),
}


def exchange(front: AsgiFront, case: Case) -> list[dict[str, Any]]:
    pieces = list(case.pieces) or [case.body]
    scope = {
        "type": "http",
        "method": case.method,
        "path": case.path,
        "query_string": case.query,
        "headers": case.headers,
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "http_version": "1.1",
        "scheme": "http",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        piece = pieces.pop(0)
        if piece == "disconnect":
            return {"type": "http.disconnect"}
        assert isinstance(piece, bytes)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(front(scope, receive, send))
    # one message or two for the body: the bytes are what a client reads
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return [{"status": start["status"], "headers": start["headers"]}, {"body": body}]


def journal(backend: Backend) -> list[dict[str, Any]]:
    out = []
    for entry in backend.requests():
        shown = entry.as_dict()
        shown.pop("id")
        shown.pop("time")
        out.append(shown)
    return out


def fronts() -> Iterator[tuple[AsgiFront, Backend]]:
    for direct in (True, False):
        backend = Backend({"max_body_bytes": LIMIT, "api_keys": {KEY: ["test-project"], SECRET: ["p"]}})
        app = create_app(backend=backend, allowed_hosts=("fake.test",))
        yield AsgiFront(app.wsgi_app, backend, direct=direct), backend


@pytest.mark.parametrize("name", CASES)
def test_straight_from_the_scope_is_the_same_as_through_wsgi(name: str) -> None:
    case = CASES[name]
    seen = []
    for front, backend in fronts():
        if case.fault is not None:
            backend.add_fault(case.fault)
        answer = exchange(front, case)
        seen.append((answer, journal(backend), backend.events("test-project")))
    direct, through_wsgi = seen
    assert direct == through_wsgi


def test_the_heavy_body_is_heavy_and_accepted() -> None:
    assert LARGE_BODY <= len(HEAVY) <= LIMIT
    front, backend = next(fronts())
    assert exchange(front, CASES["a heavy body"])[0]["status"] == 202
    assert len(backend.events("test-project")) == 1000


def test_the_direct_path_is_taken() -> None:
    """Without it, the comparison above would compare the WSGI path with itself."""
    direct, through_wsgi = (front for front, _backend in fronts())
    assert direct._ingest is not None
    assert through_wsgi._ingest is None


def test_a_bug_is_answered_in_the_envelope_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver import pipeline

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pipeline, "handle", broken)
    answers = [exchange(front, CASES["valid"]) for front, _backend in fronts()]
    assert answers[0] == answers[1]
    assert answers[0][0]["status"] == 500
    assert json.loads(answers[0][1]["body"])["errors"][0]["field"] == "request"


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "through WSGI"])
def test_a_body_of_its_declared_length_is_whole_without_the_last_message(direct: bool) -> None:
    """granian says a body ended with one more, empty message: a round trip the front spares
    once the declared length is in. A receive that never gives that message shows it is not
    awaited (else the read deadline would answer 408)."""
    backend = Backend({"read_timeout": 5})
    front = AsgiFront(create_app(backend=backend).wsgi_app, backend, direct=direct)
    headers = plain((b"content-length", str(len(EVENT)).encode()))
    scope = {"type": "http", "method": "POST", "path": "/v1/api/events", "headers": headers}
    scope["query_string"] = b"project_id=test-project"
    given: list[bytes] = [EVENT[:10], EVENT[10:]]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not given:
            await asyncio.Event().wait()  # the confirmation that never comes
        return {"type": "http.request", "body": given.pop(0), "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await asyncio.wait_for(front(scope, receive, send), 2)

    asyncio.run(run())
    assert sent[0]["status"] == 202
    assert len(backend.events("test-project")) == 1


def test_headers_read_once_per_set_are_each_callers_own() -> None:
    """The front reads each distinct set of headers once: a map it hands out is a copy, so a
    change to one never reaches the next request with the same headers; pairs given as lists,
    as the ASGI spec allows, are read the same way."""
    from mockserver.ingest_front import header_map

    pairs = [(b"Host", b"127.0.0.1"), (b"X_Trace", b"1"), (b"x-trace", b"2"), (b"Content-Type", b"")]
    first = header_map(pairs)
    assert first == {"host": "127.0.0.1", "x-trace": "1,2"}
    first["host"] = "changed"
    assert header_map(iter(pairs)) == {"host": "127.0.0.1", "x-trace": "1,2"}
    assert header_map([list(pair) for pair in pairs]) == {"host": "127.0.0.1", "x-trace": "1,2"}
