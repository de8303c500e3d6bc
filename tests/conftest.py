from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from mockserver import Backend, LiveServer, create_app
from mockserver.journal import JournalEntry

KEY = "test-api-key"
PROJECT = "test-project"
AUTH = {"Authorization": f"Bearer {KEY}"}

#: The share of their example counts the fuzzing tests run, which repeat one check on many
#: random inputs: 1 unless ``MARKETAP_FUZZ_SHARE`` says less. The CI job on the dependencies'
#: lowest versions sets it, because there the question is whether the package works with them,
#: not how far the search goes (the full counts run on every Python), and there they take 2.6
#: times as long as on Python 3.11 with the newest versions.
FUZZ_SHARE = float(os.environ.get("MARKETAP_FUZZ_SHARE", "1"))
if not 0 < FUZZ_SHARE <= 1:
    raise ValueError(f"MARKETAP_FUZZ_SHARE must be above 0 and at most 1, not {FUZZ_SHARE}")


def fuzz_examples(count: int) -> int:
    """``count`` Hypothesis examples for a fuzzing test, times :data:`FUZZ_SHARE`: at least 25,
    and never more than ``count`` (at the default share, exactly ``count``)."""
    return min(count, max(25, round(count * FUZZ_SHARE)))


class Sent:
    """A response from either way in, seen the same way."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def fields(self) -> list[str]:
        return [e["field"] for e in self.json["errors"]]


Post = Callable[..., Sent]


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def client(backend: Backend) -> Any:
    return create_app(backend=backend).test_client()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    with LiveServer() as server:
        yield server


Send = Callable[[str, str, bytes, dict[str, str]], Sent]


def _poster(send: Send) -> Post:
    """One ``post(path, body, *, query, headers, data, method)`` over any way of sending."""

    def post(
        path: str,
        body: Any = None,
        *,
        query: str | None = f"project_id={PROJECT}",
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        method: str = "POST",
    ) -> Sent:
        hdrs = {**AUTH, "Content-Type": "application/json"} if headers is None else headers
        if data is None and body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
        return send(method, path + (f"?{query}" if query else ""), data or b"", hdrs)

    return post


def _test_client_post(client: Any) -> Post:
    def send(method: str, url: str, data: bytes, headers: dict[str, str]) -> Sent:
        r = client.open(url, method=method, data=data, headers=headers)
        return Sent(r.status_code, r.data, dict(r.headers))

    return _poster(send)


def _live_post(server: LiveServer) -> Post:
    session = requests.Session()

    def send(method: str, url: str, data: bytes, headers: dict[str, str]) -> Sent:
        r = session.request(method, server.url + url, data=data, headers=headers)
        return Sent(r.status_code, r.content, dict(r.headers))

    return _poster(send)


@pytest.fixture(params=["test_client", "live"])
def post(request: pytest.FixtureRequest, backend: Backend) -> Iterator[Post]:
    """POST through Flask's test client and through the live server, sharing ``backend``."""
    if request.param == "test_client":
        yield _test_client_post(create_app(backend=backend).test_client())
    else:
        with LiveServer(backend) as server:
            yield _live_post(server)


@pytest.fixture
def tc_post(client: Any) -> Post:
    """POST through Flask's test client only (for the many validation rows)."""
    return _test_client_post(client)


def start_serve(
    *args: str, command: str = "serve", env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``marketap-mock serve --port 0 ARGS`` (or ``command``) in a subprocess, read up to the end
    of its banner: the process, its URL and the banner's lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", command, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # ends at EOF if the server dies
        lines.append(line)
        if "Ctrl+C" in line:
            break
    match = re.search(r"http://[\d.]+:\d+", "".join(lines))
    if not match:
        stop_serve(proc)
    assert match, lines
    return proc, match.group(0), lines


def stop_serve(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl+C, then wait; a server that will not stop is killed, so none outlives its test."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=30)  # closes the pipes too
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=30)
        raise


@contextmanager
def server_url(server: str, read_timeout: float | None = None) -> Iterator[str]:
    """A quiet fake on ``server``: ``werkzeug`` (a :class:`LiveServer` in this process) or
    ``granian`` (``serve`` in a process of its own). Yields its URL."""
    if server == "werkzeug":
        settings = {} if read_timeout is None else {"read_timeout": read_timeout}
        with LiveServer(Backend(settings)) as live:
            yield live.url
    else:
        timeout = () if read_timeout is None else ("--read-timeout", str(read_timeout))
        with serving(*timeout, "--quiet") as (url, _proc):
            yield url


@contextmanager
def serving(
    *args: str, command: str = "serve", env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """:func:`start_serve` as a context: yields the URL and the process, then stops it."""
    proc, url, _lines = start_serve(*args, command=command, env=env)
    try:
        yield url, proc
    finally:
        stop_serve(proc)


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """pytester with pytest-asyncio's loop scope set, as a user's ini file would have it (it warns
    in every inner run otherwise); a test's own ``makeini`` replaces this one."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


#: Modules whose every test is slow: real browsers, the contract suite run as a whole, and the
#: contract suite run against each mutant of the fake.
_SLOW_MODULES = {"test_dashboard.py", "test_browser_attacks.py", "test_contract_suite.py", "test_mutants.py"}


#: Modules holding the longest single tests (a minute or more each), run first: collected last,
#: as they were, one of them still running at the end kept the other workers idle for a minute.
_LONGEST_FIRST = {"test_mutants.py", "test_openapi_fuzz.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what the quick subset (``-m "not slow"``) leaves out: fuzzing (every Hypothesis
    test), browsers, and tests marked ``slow`` by hand (subprocess runs, thousands of sockets).
    The longest tests go first (a stable sort: each module keeps its own order)."""
    items.sort(key=lambda item: item.path.name not in _LONGEST_FIRST)
    for item in items:
        function = getattr(item, "obj", None)
        if item.path.name in _SLOW_MODULES or getattr(function, "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)


def journal_entry(index: int, raw: bytes = b"{}", **fields: Any) -> JournalEntry:
    """An accepted one-event request's journal entry, as a test builds one by hand."""
    return JournalEntry(
        **{
            "id": index,
            "time": "2025-01-17T05:39:22.000Z",
            "method": "POST",
            "path": "/v1/api/events",
            "query": {},
            "headers": {},
            "raw": raw,
            "status": 202,
            **fields,
        }
    )
