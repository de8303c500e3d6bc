"""The attack harness (``bench.attack``) runs, and tells a server that holds from one that does
not: every case holds against the fake, and its checks fail against a server that takes and
echoes anything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import attack
from mockserver import Backend, LiveServer


def test_every_attack_holds_against_the_fake() -> None:
    with LiveServer(Backend({"read_timeout": 1})) as live:
        results = attack.run(live.url, patience=10)
    assert set(results) == set(attack.CASES)
    assert {name: why for name, (held, why) in results.items() if not held} == {}


class _Gullible(BaseHTTPRequestHandler):
    """Answers 200 to anything, echoing the request line, headers and body."""

    def _echo(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        text = f"{self.requestline}\n{self.headers}".encode() + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_GET = do_POST = _echo

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def gullible() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gullible)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_harness_finds_a_server_that_echoes_and_takes_anything() -> None:
    cases = ["secret_everywhere", "deep_json_nesting", "lone_surrogate", "header_injection"]
    with gullible() as url:
        results = attack.run(url, patience=5, only=cases)
    assert {name: held for name, (held, _why) in results.items()} == dict.fromkeys(cases, False)
