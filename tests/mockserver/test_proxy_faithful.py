"""The proxy sends on what it judged, byte for byte, under one deadline, and knows itself: every
scenario on werkzeug (``LiveServer``) and on granian (``marketap-mock proxy``)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from mockserver import Backend, LiveServer
from mockserver.errors import SettingsError
from mockserver.proxy import Upstream
from tests.conftest import serving
from tests.mockserver.test_proxy import AUTH, EVENTS, SERVERS, events_body, proxy, recorder

BODY = json.dumps(events_body(1)).encode()
HEADERS = {**AUTH, "Content-Type": "application/json"}


def journal(url: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{url}/_mock/requests", timeout=30).json()["requests"])


def raw_request(url: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, as bytes) and ``body``; the status and body."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                top, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in top.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(rest) >= length:
                    return int(top.split(b" ")[1]), rest[:length]
    raise AssertionError(f"no whole answer: {data[:200]!r}")


def head(target: str | bytes, *lines: bytes, length: int = len(BODY)) -> bytes:
    target = target.encode("latin-1") if isinstance(target, str) else target
    fixed = [b"Host: 127.0.0.1", b"Authorization: Bearer test-api-key", b"Content-Type: application/json"]
    return b"\r\n".join(
        [
            b"POST " + target + b" HTTP/1.1",
            *fixed,
            *lines,
            b"Content-Length: %d" % length,
            b"Connection: close",
            b"",
            b"",
        ]
    )


@pytest.mark.parametrize("server", SERVERS)
def test_a_non_ascii_header_value_goes_up_as_its_bytes(server: str) -> None:
    with recorder() as up, proxy(server, up.url) as (url, _backend):
        status, _ = raw_request(url, head(EVENTS, "X-Note: café".encode()), BODY)
        assert status == 202
        (seen,) = up.seen
        # The recorder reads header bytes as latin-1 (PEP 3333).
        assert seen["headers"]["x-note"].encode("latin-1") == "café".encode()
        (entry,) = journal(url)
        assert entry["status"] == 202 and entry["upstream_status"] == 202


@pytest.mark.parametrize("server", SERVERS)
def test_a_raw_utf8_query_goes_up_encoded_once(server: str) -> None:
    with recorder() as up, proxy(server, up.url) as (url, _backend):
        status, _ = raw_request(url, head(EVENTS.encode() + "&note=café&plain=%C3%A9".encode()), BODY)
        assert status == 202
        (seen,) = up.seen
        assert seen["query"] == "project_id=test-project&note=caf%C3%A9&plain=%C3%A9"


@pytest.mark.parametrize("server", SERVERS)
def test_connection_may_not_strip_what_was_judged(server: str) -> None:
    with recorder() as up, proxy(server, up.url) as (url, _backend):
        answer = httpx.post(
            url + EVENTS, content=BODY, headers={**HEADERS, "Connection": "Authorization"}, timeout=30
        )
        assert answer.status_code == 400
        (error,) = answer.json()["errors"]
        assert error["field"] == "Connection" and "'authorization'" in error["reason"]
        assert up.seen == []
        (entry,) = journal(url)
        assert entry["status"] == 400 and "not sent on" in entry["upstream_error"]


@pytest.mark.parametrize("server", SERVERS)
def test_what_goes_up_is_marked_with_via(server: str) -> None:
    with recorder() as up, proxy(server, up.url) as (url, _backend):
        answer = httpx.post(
            url + EVENTS, content=BODY, headers={**HEADERS, "Via": "1.1 corporate-proxy"}, timeout=30
        )
        assert answer.status_code == 202
        (seen,) = up.seen
        first, mine = seen["headers"]["via"].split(", ")
        assert first == "1.1 corporate-proxy" and mine.startswith("1.1 marketap-mock-")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("server", SERVERS)
def test_a_loop_of_proxies_is_a_508(server: str) -> None:
    """A (werkzeug, here) sends on to B (``server``), which sends back to A: A sees its own
    name in Via and answers 508, and nothing fans out."""
    port = _free_port()
    backend = Backend()
    first = Upstream(f"http://127.0.0.1:{port}", timeout=30)
    with LiveServer(backend, upstream=first) as a:
        if server == "werkzeug":
            second = Upstream(a.url, timeout=30)
            with LiveServer(Backend(), port=port, upstream=second) as b:
                answer = httpx.post(a.url + EVENTS, content=BODY, headers=HEADERS, timeout=60)
                b_entries = b.backend.requests()
            second.close()
        else:
            with serving(
                "--upstream",
                a.url,
                "--upstream-timeout",
                "30",
                "--quiet",
                "--port",
                str(port),
                command="proxy",
            ) as (b_url, _):
                answer = httpx.post(a.url + EVENTS, content=BODY, headers=HEADERS, timeout=60)
                b_entries = journal(b_url)
    first.close()
    assert answer.status_code == 508, answer.text
    entries = backend.requests()
    assert len(entries) == 2 and len(b_entries) == 1
    loop, outer = entries
    assert loop.status == 508 and "a loop" in (loop.upstream_error or "")
    assert outer.upstream_status == 508


@contextmanager
def raw_upstream(answer: Callable[[socket.socket], None]) -> Iterator[tuple[str, list[socket.socket]]]:
    """An upstream on a bare socket: each connection is handed to ``answer`` in a thread."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()
        for conn in accepted:
            with contextlib.suppress(OSError):
                conn.close()


def drip(conn: socket.socket) -> None:
    """Read the request, then answer one byte every 0.3 s for 30 s."""
    with contextlib.suppress(OSError):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            conn.sendall(b"x")
            time.sleep(0.3)


def hanging(released: threading.Event) -> Callable[[socket.socket], None]:
    """Read the request and answer nothing until ``released``, then close."""

    def hang(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.recv(65536)
            released.wait(200)
            conn.close()

    return hang


@pytest.mark.parametrize("server", SERVERS)
def test_an_upstream_dripping_its_answer_is_cut_off_at_the_deadline(server: str) -> None:
    with raw_upstream(drip) as (up, _), proxy(server, up, "--upstream-timeout", "2") as (url, _backend):
        started = time.monotonic()
        answer = httpx.post(url + EVENTS, content=BODY, headers=HEADERS, timeout=120)
        took = time.monotonic() - started
        assert answer.status_code == 504
        assert "within 2 s" in answer.json()["errors"][0]["reason"]
        # The drip lasts 30 s; the deadline is 2 s, and this bound leaves room for a loaded machine.
        assert took < 20
        (entry,) = journal(url)
        assert entry["upstream_status"] is None and "within 2 s" in entry["upstream_error"]


@pytest.mark.parametrize("server", SERVERS)
def test_the_control_plane_answers_while_upstream_calls_hang(server: str) -> None:
    calls = 70
    released = threading.Event()
    with (
        raw_upstream(hanging(released)) as (up, accepted),
        proxy(server, up, "--upstream-timeout", "120") as (url, _backend),
        ThreadPoolExecutor(calls) as pool,
    ):
        pending = [
            pool.submit(httpx.post, url + EVENTS, content=BODY, headers=HEADERS, timeout=300)
            for _ in range(calls)
        ]
        deadline = time.monotonic() + 60
        while len(accepted) < 60 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(accepted) >= 60
        # The hanging calls last 120 s; the control plane must answer long before.
        assert httpx.get(url + "/_mock/health", timeout=30).status_code == 200
        assert httpx.get(url + "/_mock/requests", timeout=30).status_code == 200
        released.set()
        for future in pending:
            assert future.result().status_code == 502


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("server", SERVERS)
def test_a_proxy_refuses_itself_as_upstream(server: str, host: str) -> None:
    port = _free_port()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver",
            "proxy",
            "--server",
            server,
            "--port",
            str(port),
            "--upstream",
            f"http://{host}:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "is this proxy itself" in done.stderr


def test_a_live_server_refuses_itself_as_upstream() -> None:
    port = _free_port()
    server = LiveServer(Backend(), port=port, upstream=Upstream(f"http://localhost:{port}"))
    with pytest.raises(SettingsError, match="is this proxy itself"):
        server.start()
    assert not server.running
    # The port is free again.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
