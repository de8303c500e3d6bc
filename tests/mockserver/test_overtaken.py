"""A request that a reset overtakes stores and journals nothing: a failed test's half-sent
request must not land in the next test's journal or state.

The client sends its headers with ``Expect: 100-continue`` and waits for ``100 Continue``: both
servers send it only once the fake has started reading the body, so the request has arrived
before the reset, whatever the load on the machine."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mockserver import Backend, spec
from mockserver.flask_app import create_app
from tests.conftest import server_url

PROJECT = "test-project"
OTHER = "other-project"
EVENT = {"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}
BODY = json.dumps({"events": [EVENT]}).encode()
HALF = len(BODY) // 2


def head(project: str, length: int) -> bytes:
    return (
        f"POST {spec.EVENTS.path}?project_id={project} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Authorization: Bearer test-api-key\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()


@contextmanager
def half_sent(url: str, project: str = PROJECT) -> Iterator[socket.socket]:
    """A connection whose request has arrived, with half its body sent."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(head(project, len(BODY)))
        seen = b""
        while b"\r\n\r\n" not in seen:
            chunk = sock.recv(1024)
            assert chunk, seen
            seen += chunk
        assert seen.startswith(b"HTTP/1.1 100"), seen
        sock.sendall(BODY[:HALF])
        yield sock


def answer(sock: socket.socket) -> int:
    """The status of the final answer (the connection is read to its close)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
        if b"\r\n\r\n" in data:
            break
    return int(data.split(b" ", 2)[1])


def journal(url: str) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = httpx.get(url + "/_mock/requests", timeout=60).json()["requests"]
    return requests


def events(url: str, project: str = PROJECT) -> list[Any]:
    found: list[Any] = httpx.get(url + f"/_mock/events?project_id={project}", timeout=60).json()["events"]
    return found


@pytest.mark.parametrize("finish", ["completes", "closes"])
@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_a_request_in_flight_across_a_reset_is_neither_stored_nor_journaled(server: str, finish: str) -> None:
    with server_url(server) as url, half_sent(url) as sock:
        assert httpx.post(url + "/_mock/reset", json={}, timeout=60).status_code in (200, 204)
        if finish == "completes":
            sock.sendall(BODY[HALF:])
            # answered as if it had finished before the reset, which then cleared it
            assert answer(sock) == 202
        else:
            sock.shutdown(socket.SHUT_WR)
            assert answer(sock) == 400
        # what the next test sends is all its journal holds
        assert (
            httpx.post(
                url + spec.EVENTS.path,
                params={"project_id": PROJECT},
                content=BODY,
                headers={"Authorization": "Bearer test-api-key", "Content-Type": "application/json"},
                timeout=60,
            ).status_code
            == 202
        )
        assert [entry["status"] for entry in journal(url)] == [202]
        assert len(events(url)) == 1


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_a_request_that_arrived_after_the_reset_is_kept(server: str) -> None:
    """The check that the one above can fail: without a reset in between, the same request
    is stored and journaled."""
    with server_url(server) as url, half_sent(url) as sock:
        sock.sendall(BODY[HALF:])
        assert answer(sock) == 202
        assert [entry["status"] for entry in journal(url)] == [202]
        assert len(events(url)) == 1


class SlowStream(io.RawIOBase):
    """A request body that arrives in two halves, with ``between`` run while the second is on
    its way (a slow client, in process)."""

    def __init__(self, body: bytes, between: Any) -> None:
        self._parts = [body[:HALF], body[HALF:]]
        self._between = between
        self._sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._parts:
            return 0
        if self._sent == 1:
            self._between()
        part = self._parts.pop(0)
        self._sent += 1
        buffer[: len(part)] = part
        return len(part)


def post_slowly(backend: Backend, project: str, between: Any) -> int:
    builder = EnvironBuilder(
        path=spec.EVENTS.path,
        query_string={"project_id": project},
        method="POST",
        data=BODY,
        headers={"Authorization": "Bearer test-api-key", "Content-Type": "application/json"},
    )
    environ = builder.get_environ()
    environ["wsgi.input"] = io.BufferedReader(SlowStream(BODY, between), buffer_size=HALF)
    _body, status, _headers = run_wsgi_app(create_app(backend=backend), environ)
    return int(status.split(" ", 1)[0])


def test_in_process_a_reset_while_the_body_arrives_clears_the_request(backend: Backend) -> None:
    assert post_slowly(backend, PROJECT, backend.reset) == 202
    assert backend.requests() == [] and backend.events(PROJECT) == []


def test_in_process_a_reset_of_one_project_clears_its_requests_only() -> None:
    backend = Backend({"any_project": True})
    assert post_slowly(backend, OTHER, lambda: backend.reset(PROJECT)) == 202
    assert post_slowly(backend, PROJECT, lambda: backend.reset(PROJECT)) == 202
    assert [entry.project_id for entry in backend.requests()] == [OTHER]
    assert backend.events(PROJECT) == [] and len(backend.events(OTHER)) == 1


def test_in_process_a_request_without_a_reset_in_flight_is_kept(backend: Backend) -> None:
    assert post_slowly(backend, PROJECT, lambda: None) == 202
    assert len(backend.requests()) == 1 and len(backend.events(PROJECT)) == 1


def test_resets_remembered_per_project_stay_bounded(backend: Backend) -> None:
    """Each project's latest reset is remembered for the requests in flight, a bounded number of
    them: a project reset just now is among them whatever came before."""
    for n in range(5000):
        backend.reset(f"p{n}")
    assert post_slowly(backend, PROJECT, lambda: backend.reset(PROJECT)) == 202
    assert backend.requests() == [] and backend.events(PROJECT) == []
    assert len(vars(backend)["_project_cleared_at"]) <= 1024
