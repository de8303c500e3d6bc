"""Both servers keep the same promises at the protocol level: a body or headers trickled past the
read timeout end in a 408 (werkzeug) or a closed connection (granian, which cuts slow headers off
itself), headers are parsed strictly, and the server's own refusals are in the JSON envelope on
werkzeug (granian answers its own protocol errors with an empty body: the documented exception).

Timings: the read timeout is 1 s and each trickle would last 40 s; a bound of 20 s leaves room
for a loaded machine while a server that waits per read, not per request, never ends in time."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mockserver import spec
from tests.conftest import server_url as quiet_server

SERVERS = ["werkzeug", "granian"]
EVENTS = f"{spec.EVENTS.path}?project_id=test-project"
BODY = json.dumps(
    {"events": [{"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}]}
).encode()
TRICKLE_FOR = 40.0
BOUND = 20.0


@contextmanager
def server_url(server: str) -> Iterator[str]:
    with quiet_server(server, read_timeout=1) as url:
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=60)


def head(*extra: bytes, length: int = len(BODY), target: bytes = EVENTS.encode()) -> bytes:
    lines = [
        b"POST " + target + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Authorization: Bearer test-api-key",
        b"Content-Type: application/json",
        b"Content-Length: %d" % length,
        *extra,
        b"",
        b"",
    ]
    return b"\r\n".join(lines)


def read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def read_answer(sock: socket.socket) -> bytes:
    """One answer, read to the end of its declared body rather than until the server closes:
    granian, having answered a trickled body with ``Connection: close``, keeps the socket open
    for half a minute more, which would only make the test wait."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data or len(data) < _answer_length(data):
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data


def _answer_length(data: bytes) -> int:
    top, _, _ = data.partition(b"\r\n\r\n")
    for line in top.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(top) + 4 + int(value)
    return 1 << 62  # no declared length: read until the server closes


def trickle(sock: socket.socket, data: bytes, *, whole: bool = True) -> tuple[bytes, float]:
    """Send ``data`` a byte every 0.2 s (for at most TRICKLE_FOR seconds) until the server
    answers or closes; what it sent back (until it closes, or with ``whole`` false to the end of
    its answer) and when."""
    started = time.monotonic()
    sock.setblocking(False)
    for byte in data:
        if time.monotonic() - started > TRICKLE_FOR:
            break
        try:
            sock.recv(1, socket.MSG_PEEK)
            break  # an answer, or b"": the server closed
        except BlockingIOError:
            pass  # nothing yet
        except OSError:
            break
        try:
            sock.send(bytes([byte]))
        except OSError:
            break
        time.sleep(0.2)
    took = time.monotonic() - started
    sock.settimeout(30)
    return (read_all(sock) if whole else read_answer(sock)), took


def answer_of(data: bytes) -> tuple[int, dict[str, object] | None]:
    top, _, body = data.partition(b"\r\n\r\n")
    status = int(top.split(b" ")[1])
    return status, (json.loads(body) if body else None)


@pytest.mark.parametrize("server", SERVERS)
def test_a_trickled_body_is_a_408(server: str) -> None:
    with server_url(server) as url, connect(url) as sock:
        sock.sendall(head(length=1000))
        data, took = trickle(sock, b"x" * 1000, whole=False)
        assert took < BOUND
        status, body = answer_of(data)
        assert status == 408 and body is not None and body["code"] == 408


@pytest.mark.parametrize("server", SERVERS)
def test_trickled_headers_are_cut_off(server: str) -> None:
    with server_url(server) as url, connect(url) as sock:
        data, took = trickle(sock, head() * 10)
        assert took < BOUND
        if server == "werkzeug":
            status, body = answer_of(data)
            assert status == 408 and body is not None
            assert "headers did not arrive" in json.dumps(body)
        else:
            # granian closes the connection (its own header timeout), with or without an answer.
            assert data == b"" or data.startswith(b"HTTP/1.1 408")


def chunked(coding: bytes) -> bytes:
    """The body, chunked, under ``Transfer-Encoding: coding``."""
    top = head(length=0).replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: " + coding + b"\r\n")
    return top + b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n"


#: Each request would be accepted but for its one defect; each is sent with the body.
BAD_HEADS = {
    "bare CR": head(b"X-Note: a\rX-Other: b") + BODY,
    "NUL": head(b"X-Note: a\x00b") + BODY,
    "control byte": head(b"X-Note: a\x01b") + BODY,
    "folded line": head(b"X-Note: a", b" continued") + BODY,
    "space before colon": head(b"X-Note : a") + BODY,
    "non-final chunked": chunked(b"chunked, gzip"),
    "another coding": chunked(b"gzip"),
}


@pytest.mark.parametrize("case", BAD_HEADS)
@pytest.mark.parametrize("server", SERVERS)
def test_malformed_headers_are_a_400_and_store_nothing(server: str, case: str) -> None:
    with server_url(server) as url:
        with connect(url) as sock:
            sock.sendall(BAD_HEADS[case])
            data = read_all(sock)
        status, body = answer_of(data)
        assert 400 <= status < 500, data[:200]
        if server == "werkzeug":
            assert body is not None and body["code"] == status and body["errors"], body
            if "chunked" in case or "coding" in case:
                assert body["errors"][0]["field"] == "Transfer-Encoding"
        with connect(url) as sock:
            sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            health = json.loads(read_all(sock).partition(b"\r\n\r\n")[2])
        assert health["events"] == 0


@pytest.mark.parametrize(
    "line",
    [b"GARBAGE /?api_key=sk_live_SECRET\r\n", b"GET /\r\n", b"POST /v1 HTTP/9\r\n", b"GET  / HTTP/1.1\r\n"],
)
def test_a_garbage_request_line_gets_a_status_line_and_the_envelope_on_werkzeug(line: bytes) -> None:
    with server_url("werkzeug") as url, connect(url) as sock:
        sock.sendall(line + b"Host: 127.0.0.1\r\n\r\n")
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 4"), data[:200]
    status, body = answer_of(data)
    assert body is not None and body["code"] == status and body["errors"][0]["field"] == "request"
    assert b"SECRET" not in data  # the request line is not quoted back


def test_a_raw_utf8_header_value_and_query_are_accepted() -> None:
    """Strict, not narrow: bytes past ASCII are allowed in values and in the target."""
    with server_url("werkzeug") as url, connect(url) as sock:
        sock.sendall(
            head("X-Note: café".encode(), b"Connection: close", target=EVENTS.encode() + "&n=é".encode())
            + BODY
        )
        data = read_all(sock)
    assert answer_of(data)[0] == 202
