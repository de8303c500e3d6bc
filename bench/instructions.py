"""The fake's own work per request, counted in instructions, beside a bare Flask app's: a figure
that does not move with the machine's noise.

Run: ``python -m bench.instructions``. Needs ``valgrind`` (Debian: ``apt-get install valgrind``).
Each app is called in a tight loop with no server around it: the fake's asyncio front as
``serve`` builds it (its console on), and the bare Flask app of ``bench.live`` through WSGI.
Valgrind's callgrind counts every instruction the process runs; each app runs twice, with
``--requests`` and five times as many, and the difference divided by the extra requests is one
request's count, start-up and warm-up taken out. The same code and inputs give the same count
within a few tenths of a percent whatever else the machine is doing, so a change to the
request path shows here at its true size where the live benchmark's rounds spread by a fifth.

What it leaves out is what the live benchmark measures: the server, and granian's hand-offs
between its threads and the event loop (see docs/contributing.md).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bench.bodies import events_body
from bench.report import skipped

SIZES = {"1 event": 1, "1,000 events": 1000}
QUERY = "project_id=test-project"


def _fake(n: int) -> Callable[[], Awaitable[None]]:
    from mockserver import Backend, create_app
    from mockserver.asgi_front import AsgiFront
    from mockserver.console import console_listener

    backend = Backend()
    # serve prints a line per request by default: written to nowhere, but formatted and queued
    backend.listen(console_listener("text", background=True, stream=open(os.devnull, "w")))  # noqa: SIM115
    front = AsgiFront(create_app(backend=backend).wsgi_app, backend)
    body = events_body(n)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/api/events",
        "raw_path": b"/v1/api/events",
        "query_string": QUERY.encode(),
        "root_path": "",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"authorization", b"Bearer test-api-key"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    answered = 0

    async def one() -> None:
        nonlocal answered
        given = False

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:
                await asyncio.sleep(3600)  # the front reads no further than the declared length
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                assert message["status"] == 202, message
                answered += 1

        await front(dict(scope), receive, send)
        if answered % 500 == 0:
            backend.reset()  # the journal's cap would otherwise change the work midway

    return one


def _bare(n: int) -> Callable[[], None]:
    from bench.bare_app import app

    body = events_body(n)
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/v1/api/events",
        "QUERY_STRING": QUERY,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_AUTHORIZATION": "Bearer test-api-key",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        assert status.startswith("202"), status
        return lambda data: None

    def request() -> None:
        result = app(dict(environ, **{"wsgi.input": io.BytesIO(body)}), start_response)
        b"".join(result)

    return request


def _child(app: str, n: int, requests: int) -> None:
    # warm first (caches filled, lazy imports done); every request of a run in one go, as a
    # server's loop runs them, the event loop started once for the fake
    if app == "fake":
        request = _fake(n)

        async def run() -> None:
            for _ in range(200 + requests):
                await request()

        asyncio.run(run())
        return
    call = _bare(n)
    for _ in range(200 + requests):
        call()


def _count(app: str, n: int, requests: int) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            app,
            str(n),
            str(requests),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    assert found, done.stderr[-2000:]
    return int(found[1])


def per_request(app: str, n: int, requests: int) -> float:
    """One request's instructions: the difference of a run of ``requests`` and one of five times
    as many, over the extra requests."""
    return (_count(app, n, 5 * requests) - _count(app, n, requests)) / (4 * requests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests in the shorter run (default 300)")
    parser.add_argument("--child", nargs=3, metavar=("APP", "EVENTS", "REQUESTS"), help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    if ns.child:
        _child(ns.child[0], int(ns.child[1]), int(ns.child[2]))
        return 0
    if shutil.which("valgrind") is None:
        skipped("instructions per request", "valgrind is not installed")
        return 0
    print(f"{'body':14} {'fake':>12} {'bare Flask':>12}  fake / bare Flask, by instructions")
    for label, n in SIZES.items():
        requests = ns.requests if n == 1 else max(1, ns.requests // 10)
        fake, bare = per_request("fake", n, requests), per_request("bare", n, requests)
        print(f"{label:14} {fake:12,.0f} {bare:12,.0f}  {fake / bare:.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
