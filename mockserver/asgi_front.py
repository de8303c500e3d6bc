"""The asyncio front: the fake as an ASGI app, which ``marketap-mock serve`` runs on granian.

The fake itself is one WSGI app (:func:`mockserver.flask_app.create_app`). A WSGI server holds a
thread for each request while its client sends the body, so one stalled client or one injected
latency would hold up the others. Here the body is read with ``await`` (a stalled client costs
one idle task, and gives up after ``read_timeout``), an injected latency is an
``await asyncio.sleep`` that holds nothing, and the WSGI app is then called in the event loop
with the body in memory, through the body protocol of :mod:`mockserver.ingest_front`. An
ingestion request skips the WSGI environ: the ingestion front takes it as a request already read
(:meth:`~mockserver.ingest_front.IngestFront.incoming`), by the same rules.

Where the app's work is long, it runs in a small pool of threads instead, so the event loop
keeps answering everyone else meanwhile (the thread yields the GIL to the loop every few
milliseconds): a large or compressed body (inflating and validating it) but an events body the
fast path accepts (:data:`~mockserver.ingest_front.QUICK_BODY`), every control call but
``/_mock/health`` (a journal listing can be long), and in proxy mode every ingestion request,
which waits on the upstream in a pool of its own. A small plain body is answered on the loop,
where a hand-off would cost more than the work.

ASGI rather than granian's own RSGI, although granian itself costs less per request there
(``bench.live`` prints both ceilings). On RSGI the fake could not answer every request as its
other doors do:

- its header map leaves out each value that is not visible ASCII, so an ``Authorization`` header
  sent in UTF-8 would vanish and be answered as if it were missing;
- its body iterator gives the same pieces for a chunked body cut short and for one that ends
  with trailers, so it cannot refuse the one and keep the other;
- its one-piece read refuses a cut body, but buffers a chunked body of any size.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from mockserver.backend import Backend
from mockserver.errors import ApiError
from mockserver.ingest_front import (
    ARRIVED_KEY,
    BODY_ERROR_KEY,
    IngestFront,
    attach_body,
    declared_length,
    header_map,
    incomplete_body,
    is_control_plane,
    is_heavy,
    marked_drop,
    parse_length,
)
from mockserver.pipeline import Reply
from mockserver.read_deadline import deadline

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["WORK_THREADS", "AsgiFront", "wsgi_environ"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


#: Threads for long work off the event loop. One: work in Python holds the GIL, so more threads
#: would not finish sooner, and each would compete with the event loop for it.
WORK_THREADS = 1
#: The one control call answered on the event loop: what a supervisor polls to see the fake live.
_ON_LOOP = "/_mock/health"


class AsgiFront:
    """Reads each request asynchronously, then answers it with the WSGI app, on the event loop
    or in a pool of threads (see the module's docstring)."""

    def __init__(
        self, wsgi_app: WSGIApplication, backend: Backend, *, threads: int = 0, direct: bool = True
    ) -> None:
        self.wsgi_app = wsgi_app
        self.backend = backend
        self._work = ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="marketap-work")
        #: proxy mode: each ingestion request waits on the upstream in a thread of its own pool,
        #: apart from the control plane's, so hanging upstream calls never hold the control plane
        self._proxy = ThreadPoolExecutor(threads, thread_name_prefix="marketap-proxy") if threads else None
        #: the ingestion front, answering ingestion straight from the ASGI scope: building a WSGI
        #: environ and reading it back cost a sixth of a one-event request. Not in proxy mode,
        #: whose requests all go through the WSGI app in their own pool.
        self._ingest = (
            wsgi_app if direct and isinstance(wsgi_app, IngestFront) and wsgi_app.upstream is None else None
        )

    def _pool(self, environ: dict[str, Any], body: bytes) -> ThreadPoolExecutor | None:
        path = environ["PATH_INFO"]
        if path == "/_mock" or path.startswith("/_mock/"):
            return None if path == _ON_LOOP else self._work
        if self._proxy is not None:
            return self._proxy
        if is_heavy(body, environ.get("HTTP_CONTENT_ENCODING")):
            return self._work
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = "/" + scope["path"].lstrip("/")  # as the ingestion front reads PATH_INFO
        if self._ingest is not None and not is_control_plane(path):
            await self._answer_ingestion(self._ingest, path, scope, receive, send)
            return
        environ = wsgi_environ(scope)
        # Before the body: a reset while it arrives must clear this request too.
        environ[ARRIVED_KEY] = self.backend.arrival()
        settings = self.backend.settings
        body, error = await _read_body(
            receive, _declared(environ), settings.max_body_bytes, settings.read_timeout
        )
        delays: list[float] = []
        attach_body(environ, body, delays)
        if error is not None:
            environ[BODY_ERROR_KEY] = error
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda data: None  # the legacy write(): neither Flask nor the front uses it

        pool = self._pool(environ, body)
        loop = asyncio.get_running_loop()

        async def step(call: Callable[..., Any], *args: Any) -> Any:
            return call(*args) if pool is None else await loop.run_in_executor(pool, call, *args)

        result = await step(self.wsgi_app, environ, start_response)
        try:
            chunks = iter(result)
            # A generator calls start_response on its first step, and a streamed answer (a
            # journal listing) does its work between chunks: each step runs where the app ran.
            # A list (every ingestion answer) is whole already, and needs no second hand-off.
            first = next(chunks, b"") if isinstance(result, list) else await step(next, chunks, b"")
            if delays:
                await asyncio.sleep(sum(delays))
            status, headers = started
            await send(
                {
                    "type": "http.response.start",
                    "status": int(status.split(" ", 1)[0]),
                    "headers": _asgi_headers(headers),
                }
            )
            if isinstance(result, list):
                # An answer already whole (every ingestion answer) goes in one message: each
                # send is a round trip between the event loop and granian's threads.
                body = b"".join(chunk for chunk in result if chunk)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            chunk = first
            while chunk is not None:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = await step(next, chunks, None)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    async def _answer_ingestion(
        self, front: IngestFront, path: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """An ingestion request, answered as :meth:`__call__` answers it through the WSGI app
        (``tests/mockserver/test_asgi_direct.py`` holds the two to the same bytes)."""
        headers = header_map(scope.get("headers", ()))
        # Before the body: a reset while it arrives must clear this request too.
        arrived = self.backend.arrival()
        settings = self.backend.settings
        try:
            declared = parse_length(headers.get("content-length"))
        except ApiError:
            declared = None  # read what comes; the front answers the bad header with its 400
        body, error = await _read_body(receive, declared, settings.max_body_bytes, settings.read_timeout)
        method = scope["method"]
        taken = front.take(method, path, headers, scope.get("query_string", b""), body, error, arrived)
        if isinstance(taken, Reply):
            reply = taken
        elif front.long_work(taken):
            reply = await asyncio.get_running_loop().run_in_executor(self._work, front.answer, taken)
        else:
            reply = front.answer(taken)
        if reply.drop:
            reply = marked_drop()  # no socket here to close
        if reply.delay > 0:
            await asyncio.sleep(reply.delay)
        if reply.body or reply.headers or reply.upstream_headers is not None:
            sent = _asgi_headers(reply.wire_headers())
        else:  # an accepted request's 202: what wire_headers gives, without building it
            sent = [(b"content-length", b"0")]
        await send({"type": "http.response.start", "status": reply.status, "headers": sent})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else reply.body})


def _asgi_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _declared(environ: dict[str, Any]) -> int | None:
    try:
        return declared_length(environ)
    except ApiError:
        return None  # read what comes; the WSGI app answers the bad header with its 400


async def _read_body(receive: Receive, declared: int | None, limit: int, timeout: float) -> tuple[bytes, Any]:
    """The body, up to ``limit + 1`` bytes, and the error if it did not arrive whole within
    ``timeout`` seconds.

    A declared length past the limit is not read at all: granian then sends no ``100 Continue``,
    and the WSGI app answers 413 from the declared length. A body of the declared length is
    whole: granian would only confirm it with one more, empty message, a round trip between its
    threads and the event loop that cost a tenth of a one-event request.
    """
    if declared is not None and declared > limit:
        return b"", None
    parts: list[bytes] = []
    got = 0
    try:
        async with deadline(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":  # closed early, or a malformed chunked body
                    return b"".join(parts), incomplete_body(got, declared)
                chunk = message.get("body", b"")
                parts.append(chunk)
                got += len(chunk)
                if got > limit or got == declared or not message.get("more_body", False):
                    return b"".join(parts), None
    except TimeoutError:
        return b"".join(parts), incomplete_body(got, declared, timed_out=True)


def wsgi_environ(scope: Scope) -> dict[str, Any]:
    """The WSGI environ of an ASGI request (PEP 3333 from the ASGI HTTP scope)."""
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
