"""Hostile input over a real socket: a 4xx JSON answer naming the problem, never a 500, a
traceback or a dropped connection, and the server keeps serving and keeps what it stored."""

from __future__ import annotations

import gzip
import http.client
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import Backend, LiveServer, spec
from pytest_plugin import strategies as ms
from tests.conftest import fuzz_examples
from tests.mockserver.mutations import mutations

PROJECT = "test-project"
KEY = "test-api-key"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(Backend()) as live:
        yield live


def raw_post(
    server: LiveServer,
    body: bytes,
    *,
    path: str = spec.EVENTS.path,
    query: str = f"project_id={PROJECT}",
    headers: list[tuple[str, str | bytes]] | None = None,
) -> tuple[int, Any, str]:
    """POST with http.client, so nothing tidies the request up on the way out."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.putrequest("POST", f"{path}?{query}" if query else path, skip_accept_encoding=True)
        sent = (
            headers
            if headers is not None
            else [("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json")]
        )
        for name, value in sent:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    text = data.decode("utf-8", "replace")
    return response.status, (json.loads(data) if data else None), text


def snapshot(backend: Backend) -> Any:
    return (
        backend.events(PROJECT),
        backend.profiles(PROJECT),
        backend.devices(PROJECT),
        backend.deletion_jobs(PROJECT),
    )


@pytest.fixture
def seeded(server: LiveServer) -> Iterator[Any]:
    server.backend.reset()
    status, _, _ = raw_post(
        server, json.dumps({"events": [{"name": "kept", "user_id": "u", "id": "1"}]}).encode()
    )
    assert status == 202
    before = snapshot(server.backend)
    yield before
    assert snapshot(server.backend) == before  # nothing stored is lost or changed
    # and the server still serves
    assert raw_post(server, b'{"events": [{"name": "after", "user_id": "u"}]}')[0] == 202


def events_with(value_json: str) -> bytes:
    return ('{"events": [{"name": "a", "user_id": "u", "properties": {"x": ' + value_json + "}}]}").encode()


HOSTILE: list[tuple[str, bytes, int, str]] = [
    ("random bytes", os.urandom(4096).replace(b"{", b"x"), 400, "body"),
    ("JSON nested 100,000 levels", b"[" * 100_000 + b"]" * 100_000, 400, "body"),
    ("objects nested 100,000 levels", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400, "body"),
    ("nesting inside properties", events_with("[" * 500 + "]" * 500), 400, "body"),
    (
        "nesting inside properties, under the parser's limit",
        events_with("[" * 100 + "]" * 100),
        400,
        "events[0].properties.x",
    ),
    ("1e400", events_with("1e400"), 400, "events[0].properties.x"),
    ("NaN", events_with("NaN"), 400, "events[0].properties.x"),
    ("Infinity", events_with("-Infinity"), 400, "events[0].properties.x"),
    ("a lone surrogate", events_with('"\\udc00"'), 400, "body"),
    ("an escaped NUL", b'{"events": [{"name": "a\\u0000", "user_id": "u"}]}', 400, "events[0].name"),
    ("a raw NUL", b'{"events": [{"name": "a\x00", "user_id": "u"}]}', 400, "body"),
    (
        "a 1 MB user_id",
        json.dumps({"events": [{"name": "a", "user_id": "u" * 1_000_000}]}).encode(),
        400,
        "events[0].user_id",
    ),
    (
        "20,000 properties",
        json.dumps(
            {"profiles": [{"user_id": "u", "properties": {f"k{i}": i for i in range(20_000)}}]}
        ).encode(),
        400,
        "profiles[0].properties",
    ),
    ("events as a string", b'{"events": "all of them"}', 400, "events"),
    ("events as null", b'{"events": null}', 400, "events"),
    ("items as null", b'{"events": [null, null]}', 400, "events[0]"),
    (
        "a timestamp as an object",
        b'{"events": [{"name": "a", "user_id": "u", "timestamp": {"$date": 1}}]}',
        400,
        "events[0].timestamp",
    ),
    (
        "year 0",
        b'{"events": [{"name": "a", "user_id": "u", "timestamp": "0000-01-01T00:00:00Z"}]}',
        400,
        "events[0].timestamp",
    ),
    (
        "year 99999",
        b'{"events": [{"name": "a", "user_id": "u", "timestamp": "99999-01-01T00:00:00Z"}]}',
        400,
        "events[0].timestamp",
    ),
    ("a huge integer", events_with("1" * 5000), 400, "body"),
]


@pytest.mark.parametrize(("case", "body", "status", "field"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_bodies(
    server: LiveServer, seeded: Any, case: str, body: bytes, status: int, field: str
) -> None:
    path = spec.PROFILES.path if body.startswith(b'{"profiles"') else spec.EVENTS.path
    got, answer, text = raw_post(server, body, path=path)
    assert got == status, text[:500]
    assert answer["code"] == status and "Traceback" not in text
    # the named field, or a path inside it
    assert any(e["field"].startswith(field) for e in answer["errors"]), answer["errors"][:3]


HOSTILE_HEADERS: list[tuple[str, list[tuple[str, str | bytes]], str, int, str]] = [
    (
        "a 60 KB Authorization header",
        [("Authorization", "Bearer " + "k" * 60_000), ("Content-Type", "application/json")],
        f"project_id={PROJECT}",
        401,
        "Authorization",
    ),
    (
        "non-ASCII header bytes",
        [("Authorization", "Bearer ключ".encode()), ("Content-Type", "application/json")],
        f"project_id={PROJECT}",
        401,
        "Authorization",
    ),
    (
        "a repeated project_id",
        [("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json")],
        f"project_id={PROJECT}&project_id=other",
        400,
        "project_id",
    ),
    (
        "a percent-garbled project_id",
        [("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json")],
        "project_id=%E0%A4%A",
        401,
        "Authorization",
    ),
    (
        "a path-like project_id",
        [("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json")],
        "project_id=../../etc/passwd",
        401,
        "Authorization",
    ),
    (
        "a Content-Encoding the fake does not support",
        [
            ("Authorization", f"Bearer {KEY}"),
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
        f"project_id={PROJECT}",
        415,
        "Content-Encoding",
    ),
]


@pytest.mark.parametrize(
    ("case", "headers", "query", "status", "field"), HOSTILE_HEADERS, ids=[c[0] for c in HOSTILE_HEADERS]
)
def test_hostile_headers_and_queries(
    server: LiveServer,
    seeded: Any,
    case: str,
    headers: list[tuple[str, str | bytes]],
    query: str,
    status: int,
    field: str,
) -> None:
    got, answer, text = raw_post(
        server, b'{"events": [{"name": "a", "user_id": "u"}]}', headers=headers, query=query
    )
    assert got == status, text[:500]
    assert answer["errors"][0]["field"] == field
    assert "k" * 200 not in text  # a long key is never echoed in full


def test_bodies_over_the_limit(server: LiveServer, seeded: Any) -> None:
    server.backend.update_settings({"max_body_bytes": 1 << 20})
    try:
        got, answer, _ = raw_post(server, b'{"events": [' + b" " * (2 << 20) + b"]}")
        assert (got, answer["errors"][0]["field"]) == (413, "body")
        bomb = gzip.compress(b'{"events": [' + b" " * (50 << 20) + b"]}")
        headers: list[tuple[str, str | bytes]] = [
            ("Authorization", f"Bearer {KEY}"),
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ]
        assert raw_post(server, bomb, headers=headers)[0] == 413
    finally:
        server.backend.restore_settings()


def test_the_journal_keeps_hostile_headers_short(server: LiveServer, seeded: Any) -> None:
    raw_post(
        server,
        b"{}",
        headers=[
            ("Authorization", f"Bearer {KEY}"),
            ("Content-Type", "application/json"),
            ("X-Junk", "j" * 60_000),
        ],
    )
    entry = server.backend.requests()[-1]
    assert len(entry.headers["x-junk"]) < 1100


# --- fuzzing ---------------------------------------------------------------------------------


def _check_answer(server: LiveServer, before: Any, status: int, answer: Any, text: str) -> None:
    assert status < 500, text[:500]
    if status != 202:
        assert isinstance(answer, dict) and answer["code"] == status and isinstance(answer["errors"], list), (
            text[:300]
        )
        assert all(isinstance(e["field"], str) and e["reason"] for e in answer["errors"])
        assert snapshot(server.backend) == before


_FUZZ = settings(
    max_examples=fuzz_examples(700),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("path", spec.PATHS)
@_FUZZ
@given(data=st.data())
def test_fuzz_mutated_valid_bodies(server: LiveServer, path: str, data: st.DataObject) -> None:
    server.backend.reset()
    before = snapshot(server.backend)
    raw = json.dumps(data.draw(ms.valid_bodies(path, max_size=5))).encode()
    body = data.draw(mutations(raw))
    status, answer, text = raw_post(server, body, path=path)
    if status == 202:
        return
    _check_answer(server, before, status, answer, text)


@settings(max_examples=fuzz_examples(500), deadline=None)
@given(body=st.binary(max_size=2000), path=st.sampled_from(spec.PATHS))
def test_fuzz_raw_bytes(server: LiveServer, body: bytes, path: str) -> None:
    server.backend.reset()
    before = snapshot(server.backend)
    status, answer, text = raw_post(server, body, path=path)
    _check_answer(server, before, status, answer, text)


_HEADER_TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=80
)


@settings(max_examples=fuzz_examples(400), deadline=None)
@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(["Authorization", "Content-Type", "Content-Encoding", "X-Any"]), _HEADER_TEXT
        ),
        max_size=4,
    ),
    query=st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#"), max_size=60),
)
def test_fuzz_headers_and_queries(server: LiveServer, headers: list[tuple[str, str]], query: str) -> None:
    server.backend.reset()
    before = snapshot(server.backend)
    encoded: list[tuple[str, str | bytes]] = [(k, v.strip().encode("latin-1")) for k, v in headers]
    status, answer, text = raw_post(
        server, b'{"events": [{"name": "a", "user_id": "u"}]}', headers=encoded, query=query
    )
    _check_answer(server, before, status, answer, text)


def test_keys_are_compared_in_constant_time_against_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from mockserver import auth

    calls: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    keys = {"first-key-123": ("p",), "second-key-456": ("p",), "third-key-789": ("p",)}
    assert auth.authenticate("Bearer first-key-123", keys) == "first-key-123"
    assert len(calls) == 3  # no early exit on a match
