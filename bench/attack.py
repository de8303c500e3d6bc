"""Hostile clients against a running fake (or proxy): does each promise hold?

Run: ``python -m bench.attack URL [--patience SECONDS]``, with ``URL`` a running
``marketap-mock serve`` or ``marketap-mock proxy`` accepting ``test-api-key`` for
``test-project``. Each case talks raw HTTP/1.1 over a socket and prints ``held`` or ``failed``
with the reason; after every case ``/_mock/health`` must answer within five seconds. The last
case sends one known secret in every credential position and searches every answer and every
``/_mock`` view for it. ``--patience`` is how long a slow client is kept up before the case
fails for not being cut off: the server's ``read_timeout`` and a margin. The exit status is the
number of cases that failed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["CASES", "Target", "main", "run"]

SECRET = "sk_live_AttackHarness9x7Q"
AUTH = "Authorization: Bearer test-api-key\r\n"
EVENTS = "/v1/api/events?project_id=test-project"
EVENT = {"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}


@dataclass
class Target:
    host: str
    port: int
    patience: float

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=self.patience)

    def exchange(self, data: bytes, *, close_after: bool = False) -> bytes:
        """Send ``data``, read until the server closes or goes quiet."""
        with self.connect() as sock:
            try:
                sock.sendall(data)
                if close_after:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return read_all(sock, self.patience)

    def post(self, body: bytes, headers: str = "", path: str = EVENTS, auth: str = AUTH) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{headers}\r\n"
        )
        return self.exchange(head.encode("latin-1") + body)

    def get(self, path: str) -> bytes:
        return self.exchange(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nConnection: close\r\n\r\n".encode()
        )


def read_all(sock: socket.socket, patience: float) -> bytes:
    data = b""
    sock.settimeout(patience)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, OSError):
        pass
    return data


def status_of(answer: bytes) -> int | None:
    """The first final status in an answer (a 100 Continue skipped), None for no answer."""
    for line in answer.split(b"\r\n"):
        if line.startswith(b"HTTP/1.") and not line.split(b" ")[1].startswith(b"1"):
            return int(line.split(b" ")[1])
    return None


def statuses(answer: bytes) -> list[int]:
    return [int(line.split(b" ")[1]) for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def refused(answer: bytes) -> tuple[bool, str]:
    """Held when the server refused with a 4xx or closed without answering; never a 2xx or 5xx."""
    status = status_of(answer)
    if status is None:
        return True, "closed without an answer"
    return 400 <= status < 500, f"answered {status}"


def slow(target: Target, first: bytes, drip: bytes) -> tuple[bool, str]:
    """Send ``first``, then ``drip`` a byte at a time until the server gives up or patience ends."""
    began = time.monotonic()
    with target.connect() as sock:
        sock.sendall(first)
        sock.settimeout(0.5)
        for byte in drip * 10_000:
            if time.monotonic() - began > target.patience:
                return False, f"still reading after {target.patience:.0f} s"
            try:
                sock.sendall(bytes([byte]))
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return True, f"cut off after {time.monotonic() - began:.1f} s"
            if not answer or status_of(answer) in (408, 400, 431):
                return True, f"cut off ({status_of(answer)}) after {time.monotonic() - began:.1f} s"
            return False, f"answered {status_of(answer)}"
    return False, "drip ran out"


def case_slowloris_headers(t: Target) -> tuple[bool, str]:
    return slow(t, f"POST {EVENTS} HTTP/1.1\r\nHost: {t.host}\r\n".encode(), b"X-Slow: a\r\n")


def case_slow_body_drip(t: Target) -> tuple[bool, str]:
    head = f"POST {EVENTS} HTTP/1.1\r\nHost: {t.host}\r\n{AUTH}Content-Type: application/json\r\n"
    return slow(t, f"{head}Content-Length: 100000\r\n\r\n".encode(), b" ")


def case_mid_body_disconnect(t: Target) -> tuple[bool, str]:
    before = stored_events(t)
    body = json.dumps({"events": [EVENT]}).encode()
    head = f"POST {EVENTS} HTTP/1.1\r\nHost: {t.host}\r\n{AUTH}Content-Type: application/json\r\n"
    with t.connect() as sock:
        sock.sendall(f"{head}Content-Length: {len(body) + 10}\r\n\r\n".encode() + body)
    time.sleep(0.5)
    after = stored_events(t)
    return after == before, f"events stored {before} -> {after}"


def case_oversized_headers(t: Target) -> tuple[bool, str]:
    return refused(t.post(b"{}", f"X-Big: {'a' * (1 << 20)}\r\n"))


def case_garbage_request_line(t: Target) -> tuple[bool, str]:
    return refused(t.exchange(b"\x00\x01\xffGARBAGE \x7f\r\n\r\n"))


def case_header_injection(t: Target) -> tuple[bool, str]:
    body = json.dumps({"events": [EVENT]}).encode()
    return refused(t.post(body, "X-Note: a\rX-Injected: b\r\n"))


def case_ctl_in_header_value(t: Target) -> tuple[bool, str]:
    body = json.dumps({"events": [EVENT]}).encode()
    return refused(t.post(body, "X-Note: a\x00b\r\n"))


def case_huge_chunk_size(t: Target) -> tuple[bool, str]:
    head = f"POST {EVENTS} HTTP/1.1\r\nHost: {t.host}\r\n{AUTH}Content-Type: application/json\r\n"
    return refused(t.exchange(f"{head}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nab".encode()))


def case_pipelining(t: Target) -> tuple[bool, str]:
    body = json.dumps({"events": [EVENT]}).encode()
    one = (
        f"POST {EVENTS} HTTP/1.1\r\nHost: {t.host}\r\n{AUTH}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    last = one.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    got = [s for s in statuses(t.exchange(one + one + last)) if s >= 200]
    # a server may close after any answer (werkzeug does after each): every answer given is a 202
    return bool(got) and all(s == 202 for s in got), f"answers {got}"


def case_gzip_bomb(t: Target) -> tuple[bool, str]:
    bomb = gzip.compress(b"0" * (256 << 20), 9)
    began = time.monotonic()
    answer = t.post(bomb, "Content-Encoding: gzip\r\n")
    return status_of(answer) == 413, f"answered {status_of(answer)} in {time.monotonic() - began:.1f} s"


def case_gzip_many_members(t: Target) -> tuple[bool, str]:
    members = gzip.compress(b"") * 200_000
    return refused(t.post(members, "Content-Encoding: gzip\r\n"))


def case_deep_json_nesting(t: Target) -> tuple[bool, str]:
    return refused(t.post(b'{"events": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"))


def case_lone_surrogate(t: Target) -> tuple[bool, str]:
    answer = t.post(b'{"events": [{"name": "\\ud800", "user_id": "u", "timestamp": "2025-01-17T05:39:22Z"}]}')
    held, why = refused(answer)
    listing = body_of(t.get("/_mock/requests"))
    try:
        json.loads(listing)
    except ValueError:
        return False, f"{why}; the journal listing no longer parses"
    return held, f"{why}; journal listing parses"


def case_secret_everywhere(t: Target) -> tuple[bool, str]:
    body = json.dumps({"events": [EVENT]}).encode()
    sent = [
        # a key without "Bearer", alone and with a control byte after it (a library may quote it)
        ("", EVENTS, f"Authorization: {SECRET}\r\n"),
        ("", EVENTS, f"Authorization: {SECRET}\x01\r\n"),
        ("", EVENTS, f"Authorization: Bearer {SECRET}\x01\r\n"),
        (f"Proxy-Authorization: Bearer {SECRET}\r\n", EVENTS, AUTH),
        (f"Cookie: sid={SECRET}; theme=dark\r\n", EVENTS, AUTH),
        (f"X-Api-Key: {SECRET}\r\n", EVENTS, AUTH),
        ("", f"{EVENTS}&api_key={SECRET}", AUTH),
        ("", f"{EVENTS}&token={SECRET}", AUTH),
        (f"Referer: https://example.test/?api_key={SECRET}\r\n", EVENTS, AUTH),
    ]
    answers = [t.post(body, headers, path, auth) for headers, path, auth in sent]
    views = ["/_mock/requests", "/_mock/parity", "/_mock/health", "/_mock/first-request", "/_mock/"]
    seen = [*((f"answer {i}", a) for i, a in enumerate(answers)), *((v, t.get(v)) for v in views)]
    found = [where for where, text in seen if SECRET[6:].encode() in text]
    return not found, f"secret found in {found}" if found else f"searched {len(seen)} outputs"


CASES: dict[str, Callable[[Target], tuple[bool, str]]] = {
    name.removeprefix("case_"): case for name, case in sorted(globals().items()) if name.startswith("case_")
}


def body_of(answer: bytes) -> bytes:
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2 :]
        return out
    return body


def stored_events(t: Target) -> int:
    count: int = json.loads(body_of(t.get("/_mock/health")))["events"]
    return count


def healthy(t: Target) -> tuple[bool, str]:
    began = time.monotonic()
    try:
        with socket.create_connection((t.host, t.port), timeout=5) as sock:
            sock.sendall(
                f"GET /_mock/health HTTP/1.1\r\nHost: {t.host}\r\nConnection: close\r\n\r\n".encode()
            )
            answer = read_all(sock, 5)
    except OSError as exc:
        return False, f"health unreachable: {exc}"
    took = time.monotonic() - began
    return status_of(answer) == 200 and took < 5, f"health {status_of(answer)} in {took:.2f} s"


def run(url: str, patience: float, only: list[str] | None = None) -> dict[str, tuple[bool, str]]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    target = Target(parts.hostname, parts.port, patience)
    results = {}
    for name, case in CASES.items():
        if only and name not in only:
            continue
        try:
            held, why = case(target)
        except Exception as exc:  # a case that breaks is a finding, reported with the rest
            held, why = False, f"the case raised {exc!r}"
        alive, health = healthy(target)
        results[name] = (held and alive, f"{why}; {health}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--patience", type=float, default=15.0)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args(argv)
    results = run(args.url, args.patience, args.only)
    for name, (held, why) in results.items():
        print(f"{'held  ' if held else 'FAILED'} {name}: {why}")
    failed = sum(not held for held, _ in results.values())
    print(f"{len(results) - failed} held, {failed} failed")
    return failed


if __name__ == "__main__":
    sys.exit(main())
