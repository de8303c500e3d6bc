"""The live fake under attack, over real sockets, on both servers (``serve`` on granian, and
werkzeug, which the ``marketap`` fixture uses): broken and slow bodies, stalls, latency that
must delay only its own requests, many connections, foreign ``Host`` names, cross-site control
calls, framing. Each case states what a client gets, that nothing is stored, and that the server
still serves."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import Backend, LiveServer
from tests.conftest import serving

KEY = "test-api-key"
PROJECT = "test-project"
EVENTS = f"/v1/api/events?project_id={PROJECT}"
EVENT = json.dumps({"events": [{"name": "mkt_login", "user_id": "u-1"}]}).encode()
READ_TIMEOUT = 1.0  # the servers here give up on a stalled body after this many seconds


@dataclass
class Target:
    """A live fake: where it listens, and its state read through its control plane."""

    name: str
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 0

    def control(self, method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, f"{self.url}/_mock/{path}", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        self.control("POST", "reset", {})

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.control("GET", f"events?project_id={PROJECT}")["events"]
        return events

    def journal(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control("GET", "requests")["requests"]
        return entries

    def post_event(self, timeout: float = 5) -> int:
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        return requests.post(self.url + EVENTS, data=EVENT, headers=headers, timeout=timeout).status_code


@pytest.fixture(scope="module", params=["granian", "werkzeug"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    flags = ("--read-timeout", str(READ_TIMEOUT), "--allow-host", "fake.test")
    if request.param == "granian":
        with serving(*flags) as (url, _proc):
            yield Target("granian", url)
    else:
        backend = Backend({"read_timeout": READ_TIMEOUT})
        with LiveServer(backend, allowed_hosts=("fake.test",)) as server:
            yield Target("werkzeug", server.url)


@pytest.fixture
def fake(target: Target) -> Iterator[Target]:
    """The target, reset; after the test it must still answer and have lost nothing it kept."""
    target.reset()
    yield target
    target.control("DELETE", "faults", {})  # a latency rule of the test must not slow this check
    before = target.events()
    assert target.post_event() == 202, f"{target.name} stopped serving"
    assert target.events()[: len(before)] == before


def exchange(fake: Target, data: bytes, *, close_write: bool = False, wait: float = 5.0) -> bytes:
    """Send raw bytes; read the answer until the server closes or ``wait`` passes."""
    with socket.create_connection((fake.host, fake.port), timeout=wait) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.monotonic() + wait
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and _complete(out):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return head.startswith(b"HTTP/1.1 100")


def status_of(answer: bytes) -> int | None:
    """The final status in ``answer`` (after any 100 Continue), None for no answer."""
    lines = [line for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    return int(lines[-1].split()[1]) if lines else None


def envelope(answer: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(answer.partition(b"\r\n\r\n")[2])
    return body


def head(fake: Target, *extra: str, host: str | None = None) -> bytes:
    lines = [
        f"POST {EVENTS} HTTP/1.1",
        f"Host: {host or f'{fake.host}:{fake.port}'}",
        f"Authorization: Bearer {KEY}",
        "Content-Type: application/json",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


# --- broken bodies: never a crash, never stored ----------------------------------------------

BROKEN_CHUNKED = {
    "a chunk size far above the body limit, then a close": (b"2000000\r\n{", True),
    "a 20-digit chunk size, then a close": (b"FFFFFFFFFFFFFFFFFFFF\r\n{", True),
    "a chunk size of the limit plus one, then a close": (b"1000001\r\n{", True),
    "a chunk size that is not hexadecimal": (b"ZZ\r\n{}\r\n0\r\n\r\n", False),
    "a chunk shorter than its size, then a close": (b"%x\r\n" % (len(EVENT) + 9) + EVENT, True),
    "no final chunk, then a close": (chunk(EVENT), True),
    "chunk data longer than its size": (b"2\r\n" + EVENT + b"\r\n0\r\n\r\n", False),
}


@pytest.mark.parametrize("case", BROKEN_CHUNKED)
def test_broken_chunked_bodies_get_a_4xx_or_a_close_and_store_nothing(fake: Target, case: str) -> None:
    body, close = BROKEN_CHUNKED[case]
    answer = exchange(fake, head(fake, "Transfer-Encoding: chunked") + body, close_write=close)
    status = status_of(answer)
    assert status is None or 400 <= status < 500, answer[:300]
    if status is not None:
        assert envelope(answer)["errors"][0]["field"] == "body"
    assert fake.events() == []
    assert all(entry["status"] != 202 for entry in fake.journal())


def test_a_chunk_size_past_64_bits_is_refused_at_once(fake: Target) -> None:
    """Not left to wait for a body no client could send (werkzeug answered 408 after the read
    timeout, granian 400 at once)."""
    body = b"1" + b"0" * 16 + b"\r\n{}\r\n0\r\n\r\n"  # 2**64
    answer = exchange(fake, head(fake, "Transfer-Encoding: chunked") + body)
    assert status_of(answer) == 400, answer[:300]  # not the read timeout's 408
    assert envelope(answer)["errors"][0]["field"] == "body"
    assert fake.events() == []


def test_a_chunk_size_of_64_bits_with_leading_zeros_is_read(fake: Target) -> None:
    size = b"0" * 40 + b"%x" % len(EVENT)
    body = size + b"\r\n" + EVENT + b"\r\n0\r\n\r\n"
    assert status_of(exchange(fake, head(fake, "Transfer-Encoding: chunked") + body)) == 202


def test_chunk_extensions_and_trailers_are_read_past(fake: Target) -> None:
    body = b"%x;name=value\r\n" % len(EVENT) + EVENT + b"\r\n0\r\nX-Checksum: 1\r\n\r\n"
    assert status_of(exchange(fake, head(fake, "Transfer-Encoding: chunked") + body)) == 202
    assert fake.events() == [{"name": "mkt_login", "user_id": "u-1"}]


def test_a_body_shorter_than_its_content_length_is_not_stored(fake: Target) -> None:
    answer = exchange(fake, head(fake, "Content-Length: 1000") + EVENT, close_write=True)
    assert status_of(answer) in (None, 400)
    assert fake.events() == []
    [entry] = fake.journal()
    assert entry["status"] == 400
    assert entry["errors"][0]["reason"].startswith(f"incomplete: {len(EVENT)} of 1000 bytes")


def test_headers_cut_short_are_no_request(fake: Target) -> None:
    partial = f"POST {EVENTS} HTTP/1.1\r\nHost: {fake.host}\r\nAuthoriz".encode()
    assert status_of(exchange(fake, partial, close_write=True)) is None
    assert fake.journal() == []


def test_two_different_content_lengths_are_refused(fake: Target) -> None:
    answer = exchange(fake, head(fake, "Content-Length: 3", f"Content-Length: {len(EVENT)}") + EVENT)
    assert status_of(answer) == 400
    assert fake.events() == []


# --- slow clients stall only themselves ------------------------------------------------------


def test_a_stalled_body_delays_no_one_and_times_out(fake: Target) -> None:
    with socket.create_connection((fake.host, fake.port), timeout=10) as stalled:
        stalled.sendall(head(fake, "Content-Length: 1000") + b"{")
        time.sleep(0.2)  # the server is now waiting for 999 more bytes
        started = time.monotonic()
        assert requests.get(f"{fake.url}/_mock/health", timeout=5).status_code == 200
        assert fake.post_event() == 202
        assert time.monotonic() - started < READ_TIMEOUT  # answered while the stall went on
        answer = b""
        while chunk_ := stalled.recv(65536):
            answer += chunk_
            if _complete(answer):
                break
    assert status_of(answer) == 408
    assert "read timeout" in envelope(answer)["errors"][0]["reason"]
    assert len(fake.events()) == 1  # only the other client's event


def test_an_oversized_body_is_refused_before_100_continue(fake: Target) -> None:
    answer = exchange(fake, head(fake, "Expect: 100-continue", "Content-Length: 100000000000"))
    assert not answer.startswith(b"HTTP/1.1 100"), answer[:200]
    assert status_of(answer) == 413
    assert envelope(answer)["errors"][0]["field"] == "body"


def test_100_continue_is_sent_when_the_body_is_wanted(fake: Target) -> None:
    with socket.create_connection((fake.host, fake.port), timeout=5) as sock:
        sock.sendall(head(fake, "Expect: 100-continue", f"Content-Length: {len(EVENT)}"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(EVENT)
        answer = b""
        while not _complete(answer) or status_of(answer) == 100:
            answer += sock.recv(65536)
            if status_of(answer) not in (None, 100):
                break
    assert status_of(answer) == 202


def test_injected_latency_delays_only_the_requests_it_matches(fake: Target) -> None:
    fake.control("POST", "faults", {"latency_ms": 1500, "path": "/v1/api/events"})
    with ThreadPoolExecutor(8) as pool:
        started = time.monotonic()
        posts = [pool.submit(fake.post_event, 10) for _ in range(8)]
        time.sleep(0.2)
        health_started = time.monotonic()
        assert requests.get(f"{fake.url}/_mock/health", timeout=5).status_code == 200
        health_took = time.monotonic() - health_started
        assert [p.result() for p in posts] == [202] * 8
        took = time.monotonic() - started
    assert health_took < 1.0  # not behind the delayed requests
    assert took < 8 * 1.5 / 2  # the eight waits overlap; serialised they take 12 s
    assert len(fake.events()) == 8


@pytest.mark.slow
def test_more_than_1024_open_connections_do_not_block_a_new_request(fake: Target) -> None:
    idle = []
    try:
        for _ in range(1100):
            idle.append(socket.create_connection((fake.host, fake.port), timeout=10))
        for sock in idle[::50]:  # some are mid-request, not merely open
            sock.sendall(head(fake, "Content-Length: 100")[:-2])
        assert fake.post_event(timeout=5) == 202
        assert requests.get(f"{fake.url}/_mock/health", timeout=5).status_code == 200
    finally:
        for sock in idle:
            sock.close()


# --- pages under other names, cross-site control calls, framing ------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/_mock/requests", None),
        ("GET", "/_mock/", None),
        ("PATCH", "/_mock/settings", {"allow_naive_timestamps": True}),
        ("POST", "/_mock/reset", {}),
        ("POST", EVENTS, {"events": [{"name": "planted", "user_id": "u-1"}]}),
    ],
)
def test_a_foreign_host_name_is_refused(fake: Target, method: str, path: str, body: Any) -> None:
    assert fake.post_event() == 202
    headers = {
        "Host": f"evil.example:{fake.port}",
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
    }
    r = requests.request(method, fake.url + path, json=body, headers=headers, timeout=5)
    assert r.status_code == 403
    assert r.json()["errors"][0]["field"] == "Host"
    assert "--allow-host evil.example" in r.json()["errors"][0]["reason"]
    assert fake.control("GET", "settings")["settings"]["allow_naive_timestamps"] is False
    assert [e["name"] for e in fake.events()] == ["mkt_login"]


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "127.0.0.1:{port}", "LOCALHOST", "fake.test:{port}", "127.0.0.1"]
)
def test_the_names_the_server_is_reachable_by_are_answered(fake: Target, host: str) -> None:
    r = requests.get(f"{fake.url}/_mock/health", headers={"Host": host.format(port=fake.port)}, timeout=5)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", b"{}"),
        ("application/x-www-form-urlencoded", b"a=1"),
        ("multipart/form-data; boundary=x", b"--x--\r\n"),
        (None, b""),
    ],
)
@pytest.mark.parametrize("path", ["reset", "restore", "deletion-jobs/complete", "faults", "clock"])
def test_control_writes_need_json(fake: Target, content_type: str | None, data: bytes, path: str) -> None:
    assert fake.post_event() == 202
    headers = {"Content-Type": content_type} if content_type else {}
    method = "DELETE" if path == "clock" else "POST"
    r = requests.request(method, f"{fake.url}/_mock/{path}", data=data, headers=headers, timeout=5)
    assert r.status_code == 415
    assert r.json()["errors"][0]["field"] == "Content-Type"
    assert len(fake.events()) == 1


def test_control_writes_from_another_origin_are_refused(fake: Target) -> None:
    assert fake.post_event() == 202
    r = requests.post(
        f"{fake.url}/_mock/reset", json={}, headers={"Origin": "http://evil.example"}, timeout=5
    )
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "Origin"
    same = requests.post(f"{fake.url}/_mock/reset", json={}, headers={"Origin": fake.url}, timeout=5)
    assert same.status_code == 200
    assert fake.events() == []


@pytest.mark.parametrize("chunked", [False, True])
def test_a_huge_control_body_is_refused(fake: Target, chunked: bool) -> None:
    big = b'{"allow_naive_timestamps": true, "x": "' + b"x" * (2 << 20) + b'"}'
    data: Any = iter([big[i : i + 65536] for i in range(0, len(big), 65536)]) if chunked else big
    r = requests.patch(
        f"{fake.url}/_mock/settings", data=data, headers={"Content-Type": "application/json"}, timeout=10
    )
    # a declared length over 1 MiB is a 413; a chunked body is cut at 1 MiB, which no JSON survives
    assert r.status_code == (400 if chunked else 413) and r.json()["code"] == r.status_code
    assert fake.control("GET", "settings")["settings"]["allow_naive_timestamps"] is False


def test_the_page_refuses_framing_and_loads_only_its_own_files(fake: Target) -> None:
    r = requests.get(f"{fake.url}/_mock/", timeout=5)
    assert r.status_code == 200
    assert r.headers["X-Frame-Options"] == "DENY"
    policy = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy


# --- fuzzing: chunked bodies and slow bodies -------------------------------------------------


@st.composite
def chunked_bodies(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A valid events body split into random chunks, sometimes broken: (wire bytes, intact)."""
    cuts = sorted(draw(st.sets(st.integers(1, len(EVENT) - 1), max_size=6)))
    pieces = [EVENT[a:b] for a, b in zip([0, *cuts], [*cuts, len(EVENT)], strict=True)]
    wire = b"".join(chunk(p) for p in pieces) + b"0\r\n\r\n"
    damage = draw(st.sampled_from(["none", "truncate", "flip", "size"]))
    if damage == "truncate":
        return wire[: draw(st.integers(0, len(wire) - 1))], False
    if damage == "flip":
        at = draw(st.integers(0, len(wire) - 1))
        return wire[:at] + bytes([wire[at] ^ 0xFF]) + wire[at + 1 :], False
    if damage == "size":
        return b"%x\r\n" % draw(st.integers(len(EVENT) + 1, 1 << 40)) + EVENT, False
    return wire, True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=chunked_bodies())
def test_fuzz_chunked_bodies(fake: Target, case: tuple[bytes, bool]) -> None:
    wire, intact = case
    fake.reset()
    answer = exchange(fake, head(fake, "Transfer-Encoding: chunked") + wire, close_write=not intact, wait=3)
    status = status_of(answer)
    if intact:
        assert status == 202
        assert len(fake.events()) == 1
    else:
        assert status is None or 400 <= status < 500 or status == 202, answer[:300]
        if status != 202:  # a flipped byte can leave a valid body with another event name
            assert fake.events() == []


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sent=st.integers(0, len(EVENT) - 1), pause=st.floats(0.0, 0.3))
def test_fuzz_slow_bodies(fake: Target, sent: int, pause: float) -> None:
    """A body sent byte by byte with pauses is read whole; one that stops gets 408 or 400."""
    fake.reset()
    with socket.create_connection((fake.host, fake.port), timeout=10) as sock:
        sock.sendall(head(fake, f"Content-Length: {len(EVENT)}"))
        for at in range(0, sent, max(1, sent // 4)):
            sock.sendall(EVENT[at : min(sent, at + max(1, sent // 4))])
            time.sleep(pause / 4)
        done = threading.Event()
        answer = b""
        while not done.is_set():
            data = sock.recv(65536)
            answer += data
            if not data or _complete(answer):
                done.set()
    assert status_of(answer) in (408, 400)
    assert fake.events() == []
