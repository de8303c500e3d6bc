"""The in-process routes: requests for the vendor's host go into the app with no socket, from
httpx, requests and aiohttp (when aiohttp is installed).

Each door sits where the client would otherwise open a connection, beneath the client's own
retry, back-off and timeout logic, so that logic runs as it does on the wire:

* requests (and any urllib3 user): ``HTTPConnectionPool._make_request``, under urllib3's
  ``Retry`` loop;
* httpx: ``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request``,
  under the client's redirects and timeouts;
* aiohttp: ``ClientSession._request``, answered through aioresponses, with the session's
  ``ClientTimeout`` applied to the fake's latency.

Every door hands the request to :func:`call_app`, which runs it through the one WSGI app (so the
pipeline, faults and journal are those of the live fake), waits an injected latency the way its
client waits for a slow server (a blocking sleep for sync clients, the event loop's for async
ones, and never longer than the client's read timeout), and turns a dropped connection or an
expired timeout into that client's own error. Requests for other hosts go out as usual.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import http.client
import importlib.util
import io
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar
from urllib.parse import unquote, urlencode, urlsplit

# Imported with this module, which the plugin imports at a fixture's first use, not with the
# plugin: import statements in the functions below cost a sixth of a one-event call_app.
from werkzeug.http import HTTP_STATUS_CODES

from mockserver import asgi_front, ingest_front, pipeline, spec

if TYPE_CHECKING:
    import responses
    import urllib3
    import urllib3.connectionpool
    import urllib3.exceptions
    import urllib3.response
    import urllib3.util.timeout
    from flask import Flask

__all__ = ["CLIENTS", "Answer", "InProcess", "call_app", "vendor_url_pattern"]

T = TypeVar("T")

#: the clients served in process, in the order they are patched
CLIENTS = ("httpx", "requests", "aiohttp")

#: what each client says when a server closes the connection without answering
_HTTPX_DROP = "Server disconnected without sending a response."
_HTTP_CLIENT_DROP = "Remote end closed connection without response"


@functools.cache
def vendor_url_pattern(base_url: str = spec.BASE_URL) -> re.Pattern[str]:
    """``https://event.marketap.io`` with or without ``:443``, any path and query."""
    parts = urlsplit(base_url)
    default = "443" if parts.scheme == "https" else "80"
    return re.compile(rf"{parts.scheme}://{re.escape(parts.hostname or '')}(:{default})?(/.*)?$", re.I)


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: the fake dropped the connection: the client must see its own connection error
    dropped: bool
    #: seconds the answer waits (a latency fault), for the caller to wait the right way
    delay: float


def call_app(
    app: Flask, method: str, url: str, headers: list[tuple[str, str]], body: bytes, *, direct: bool = True
) -> Answer:
    """Run one request through the app, as a server would; the latency is the caller's to wait.

    An ingestion request goes to the ingestion front as the asyncio front hands it over, with no
    WSGI environ (``tests/pytest_plugin/test_call_app.py`` holds the two ways to the same
    answer, journal and state); any other is run through the WSGI app with an environ built as
    the asyncio front builds it, rather than by werkzeug's test client, whose cost per request
    is as much as the rest of a test."""
    parts = urlsplit(url)
    skip = ("host", "content-length", "transfer-encoding")  # the body is whole: its length is known
    raw = [(_header_bytes(k), _header_bytes(v)) for k, v in headers if k.lower() not in skip]
    scope: dict[str, Any] = {
        "method": method.upper(),
        "path": unquote(parts.path or "/"),
        "query_string": parts.query.encode("latin-1", "replace"),
        "headers": [(b"host", b"localhost"), *raw, (b"content-length", str(len(body)).encode())],
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 0),
    }
    front = _ingest_front(app) if direct else None
    path = "/" + scope["path"].lstrip("/")  # as the ingestion front reads PATH_INFO
    if front is not None and not ingest_front.is_control_plane(path):
        return _ingest_directly(front, path, scope, body)
    environ = asgi_front.wsgi_environ(scope)
    delays: list[float] = []
    ingest_front.attach_body(environ, body, delays)
    started: list[Any] = []

    def start_response(status: str, out: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [int(status.split(" ", 1)[0]), out]
        return lambda data: None  # the legacy write(): neither Flask nor the front uses it

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    status, out = started
    return _answer(status, out, content, sum(delays))


def _answer(status: int, out: list[tuple[str, str]], content: bytes, delay: float) -> Answer:
    """The answer, a drop marked in its headers (see ``ingest_front.marked_drop``) taken out of
    them and made its flag."""
    drop = ingest_front.DROP_HEADER.lower()
    dropped = any(k.lower() == drop for k, _ in out)
    if dropped:
        out = [(k, v) for k, v in out if k.lower() != drop]
    return Answer(status, out, content, dropped, delay)


def _ingest_front(app: Flask) -> ingest_front.IngestFront | None:
    """The app's ingestion front, where it answers ingestion itself (not in proxy mode)."""
    front = app.wsgi_app
    return front if isinstance(front, ingest_front.IngestFront) and front.upstream is None else None


def _ingest_directly(
    front: ingest_front.IngestFront, path: str, scope: dict[str, Any], body: bytes
) -> Answer:
    """An ingestion request answered as the WSGI app answers it (see :func:`call_app`)."""
    method = scope["method"]
    # Before the body, as on the wire: a reset meanwhile must clear this request too.
    arrived = front.backend.arrival()
    headers = ingest_front.header_map(scope["headers"])
    taken = front.take(method, path, headers, scope["query_string"], body, None, arrived)
    reply = taken if isinstance(taken, pipeline.Reply) else front.answer(taken)
    if reply.drop:  # as the WSGI app marks it
        reply = ingest_front.marked_drop()
        return _answer(reply.status, reply.wire_headers(), reply.body, reply.delay)
    content = b"" if method == "HEAD" else reply.body
    return Answer(reply.status, reply.wire_headers(), content, False, reply.delay)


def _header_bytes(text: str) -> bytes:
    """As clients send a header: latin-1, or UTF-8 for what latin-1 cannot say."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _body_bytes(data: Any) -> bytes:
    """The bytes a client sends for a body given as bytes, text, a file or an iterable of parts."""
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "read"):
        return _body_bytes(data.read())
    return b"".join(part.encode() if isinstance(part, str) else bytes(part) for part in data)


def _wait(delay: float, timeout: float | None) -> tuple[float, bool]:
    """How long a client waits for an answer ``delay`` seconds late, and whether its read
    ``timeout`` expires first (then it waits the timeout, and no longer)."""
    if timeout is not None and delay > timeout:
        return max(0.0, timeout), True
    return delay, False


# --- requests and urllib3 ---------------------------------------------------------------------


class _Imported(Generic[T]):
    """What ``load()`` takes from module ``name``, imported once, and again if another module
    of that name has taken its place in ``sys.modules`` (a pytester run imports anew what it
    did not find, and a patch on the old module's class would reach no client)."""

    def __init__(self, name: str, load: Callable[[], T]) -> None:
        self.name = name
        self.load = load
        self._kept: tuple[Any, T] | None = None

    def __call__(self) -> T:
        kept = self._kept
        if kept is None or kept[0] is not sys.modules.get(self.name):
            value = self.load()
            kept = self._kept = (sys.modules.get(self.name), value)
        return kept[1]


def _load_urllib3() -> _Urllib3:
    from urllib3 import HTTPHeaderDict
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ReadTimeoutError
    from urllib3.response import HTTPResponse
    from urllib3.util.timeout import _DEFAULT_TIMEOUT, Timeout

    return _Urllib3(
        HTTPHeaderDict,
        HTTPConnectionPool,
        HTTPSConnectionPool,
        ReadTimeoutError,
        HTTPResponse,
        _DEFAULT_TIMEOUT,
        Timeout,
    )


class _Urllib3(NamedTuple):
    HTTPHeaderDict: type[urllib3.HTTPHeaderDict]
    HTTPConnectionPool: type[urllib3.connectionpool.HTTPConnectionPool]
    HTTPSConnectionPool: type[urllib3.connectionpool.HTTPSConnectionPool]
    ReadTimeoutError: type[urllib3.exceptions.ReadTimeoutError]
    HTTPResponse: type[urllib3.response.HTTPResponse]
    DEFAULT_TIMEOUT: urllib3.util.timeout._TYPE_DEFAULT
    Timeout: type[urllib3.util.timeout.Timeout]


#: What the requests door uses of urllib3: import statements in the door cost two thirds of its
#: start, which every in-process test pays.
_urllib3 = _Imported("urllib3.connectionpool", _load_urllib3)


def _start_urllib3(pattern: re.Pattern[str], app: Callable[[], Flask]) -> Callable[[], None]:
    """Answer the vendor's host in place of ``HTTPConnectionPool._make_request``: the step that
    sends one request on a connection and reads its answer. urllib3's ``urlopen`` around it
    still counts retries, honours ``Retry-After`` and backs off, and turns a dropped connection
    into ``ProtocolError`` (``requests.ConnectionError``) as it does on the wire. The pool's
    connection is never opened."""
    u = _urllib3()

    original = u.HTTPConnectionPool.__dict__["_make_request"]
    original_prepare_proxy = u.HTTPSConnectionPool.__dict__["_prepare_proxy"]

    def _prepare_proxy(pool: urllib3.connectionpool.HTTPSConnectionPool, conn: Any) -> None:
        # Through an HTTPS proxy, urlopen opens the tunnel before it sends: for the vendor's
        # host there is no tunnel to open, as there is no connection.
        if not pattern.match(f"{pool.scheme}://{pool.host}:{pool.port}/"):
            original_prepare_proxy(pool, conn)

    def _make_request(
        pool: urllib3.connectionpool.HTTPConnectionPool,
        conn: Any,
        method: str,
        url: str,
        body: Any = None,
        headers: Any = None,
        retries: Any = None,
        timeout: Any = u.DEFAULT_TIMEOUT,
        chunked: bool = False,
        response_conn: Any = None,
        preload_content: bool = True,
        decode_content: bool = True,
        enforce_content_length: bool = True,
    ) -> Any:
        # A proxy is sent the absolute URL; otherwise the pool knows the origin.
        full = url if "://" in url[:8] else f"{pool.scheme}://{pool.host}:{pool.port}{url}"
        if not pattern.match(full):
            return original(
                pool,
                conn,
                method,
                url,
                body=body,
                headers=headers,
                retries=retries,
                timeout=timeout,
                chunked=chunked,
                response_conn=response_conn,
                preload_content=preload_content,
                decode_content=decode_content,
                enforce_content_length=enforce_content_length,
            )
        pool.num_requests += 1
        timeout_obj = pool._get_timeout(timeout)
        timeout_obj.start_connect()
        read_timeout = u.Timeout.resolve_default_timeout(timeout_obj.read_timeout)
        answer = call_app(app(), method, full, list((headers or {}).items()), _body_bytes(body))
        wait, timed_out = _wait(answer.delay, read_timeout)
        if wait:
            time.sleep(wait)
        if timed_out:
            raise u.ReadTimeoutError(pool, url, f"Read timed out. (read timeout={read_timeout})")
        if answer.dropped:  # what http.client raises when a server closes without answering
            raise http.client.RemoteDisconnected(_HTTP_CLIENT_DROP)
        return u.HTTPResponse(
            body=io.BytesIO(answer.body),
            headers=u.HTTPHeaderDict(answer.headers),
            status=answer.status,
            version=11,
            reason=_reason(answer.status),
            preload_content=preload_content,
            decode_content=decode_content,
            pool=pool,
            connection=response_conn,
            retries=retries,
            enforce_content_length=enforce_content_length,
            request_method=method,
            request_url=url,
        )

    u.HTTPConnectionPool._make_request = _make_request  # type: ignore[method-assign,assignment]
    u.HTTPSConnectionPool._prepare_proxy = _prepare_proxy  # type: ignore[method-assign,assignment]
    restore_responses = _responses_vendor_first(pattern)

    def stop() -> None:
        restore_responses()
        u.HTTPSConnectionPool._prepare_proxy = original_prepare_proxy  # type: ignore[method-assign]
        u.HTTPConnectionPool._make_request = original  # type: ignore[method-assign]

    return stop


def _reason(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "UNKNOWN")


def _load_requests_mock() -> type[responses.RequestsMock]:
    from responses import RequestsMock

    return RequestsMock


#: responses is a package, so each import statement of it runs Python: imported once.
_requests_mock = _Imported("responses", _load_requests_mock)


def _responses_vendor_first(pattern: re.Pattern[str]) -> Callable[[], None]:
    """Until the returned function is called, a test's own ``responses`` mock (which patches
    ``HTTPAdapter.send``, above the fake's door) sends a request for the vendor's host that none
    of its responses match on to urllib3, where the fake answers it; without this it would
    raise "Connection refused by Responses". Its own answers for the vendor's host still win."""
    if not _installed_module("responses"):
        return lambda: None
    mock_class = _requests_mock()
    original = mock_class.__dict__["_on_request"]

    def on_request(mock: Any, adapter: Any, request: Any, **kwargs: Any) -> Any:
        if pattern.match(str(request.url)) and not _answers(mock, request, kwargs):
            kwargs.pop("retries", None)  # responses' own argument, not the adapter's
            return mock._real_send(adapter, request, **kwargs)
        return original(mock, adapter, request, **kwargs)

    mock_class._on_request = on_request  # type: ignore[method-assign,assignment]
    return lambda: setattr(mock_class, "_on_request", original)


def _answers(mock: Any, request: Any, kwargs: dict[str, Any]) -> bool:
    """Whether one of ``mock``'s responses matches ``request``; asked of each response, as the
    registry's own search would pop the one it finds."""
    # what _on_request sets up before its search, so that query and body matchers work alike
    request.params = mock._parse_request_params(request.path_url)
    request.req_kwargs = {k: v for k, v in kwargs.items() if k != "retries"}
    if hasattr(mock, "_read_filelike_body"):  # not in responses 0.25.0
        request.body = mock._read_filelike_body(request.body)
    return any(response.matches(request)[0] for response in mock.registered())


# --- httpx ------------------------------------------------------------------------------------


def _start_httpx(pattern: re.Pattern[str], app: Callable[[], Flask]) -> Callable[[], None]:
    """Answer the vendor's host in place of the transports' ``handle_request``: the client's
    redirects, timeouts and event hooks run around it as on the wire, and a transport's
    ``retries`` (which retry failed connects only) have no connect to fail."""
    import anyio
    import httpx

    sync_original = httpx.HTTPTransport.__dict__["handle_request"]
    async_original = httpx.AsyncHTTPTransport.__dict__["handle_async_request"]

    def answer_for(request: httpx.Request) -> tuple[Answer, float, bool]:
        headers = list(request.headers.multi_items())
        answer = call_app(app(), request.method, str(request.url), headers, request.content)
        wait, timed_out = _wait(answer.delay, request.extensions.get("timeout", {}).get("read"))
        return answer, wait, timed_out

    def respond(request: httpx.Request, answer: Answer, timed_out: bool) -> httpx.Response:
        if timed_out:  # what httpcore's socket read raises, as httpx maps it
            raise httpx.ReadTimeout("timed out", request=request)
        if answer.dropped:  # what httpx raises when a server closes without answering
            raise httpx.RemoteProtocolError(_HTTPX_DROP, request=request)
        reason = _reason(answer.status).encode("ascii")
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        if not pattern.match(str(request.url)) or _respx_answers(request):
            return sync_original(transport, request)  # type: ignore[no-any-return]
        request.read()
        answer, wait, timed_out = answer_for(request)
        if wait:
            time.sleep(wait)
        return respond(request, answer, timed_out)

    async def handle_async_request(
        transport: httpx.AsyncHTTPTransport, request: httpx.Request
    ) -> httpx.Response:
        if not pattern.match(str(request.url)) or _respx_answers(request):
            return await async_original(transport, request)  # type: ignore[no-any-return]
        await request.aread()
        answer, wait, timed_out = answer_for(request)
        if wait:
            await anyio.sleep(wait)  # the event loop's sleep: other tasks go on
        return respond(request, answer, timed_out)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign,assignment]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign,assignment]

    def stop() -> None:
        httpx.HTTPTransport.handle_request = sync_original  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = async_original  # type: ignore[method-assign]

    return stop


def _respx_answers(request: Any) -> bool:
    """Whether a test's own respx router at httpcore's layer (respx's default, beneath the
    fake's door) has a route, not a pass-through, for this request: then the test's own answer
    wins, as with its own ``responses`` or aioresponses mock."""
    mocks = sys.modules.get("respx.mocks")
    if mocks is None:
        return False
    for mocker in mocks.Mocker.registry.values():
        for router in mocker.routers:
            for route in router.routes:
                if route.is_pass_through:
                    continue
                if route.pattern is None or route.pattern.match(request):
                    return True
    return False


# --- aiohttp (aioresponses) -------------------------------------------------------------------


def _aiohttp_body(kwargs: dict[str, Any], headers: dict[str, str]) -> bytes:
    """The bytes aiohttp would send for these request arguments, with the Content-Type it adds."""
    names = {k.lower() for k in headers}
    if kwargs.get("json") is not None:
        if "content-type" not in names:
            headers["Content-Type"] = "application/json"
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if isinstance(data, dict):
        if "content-type" not in names:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(data).encode()
    if data is not None and "content-type" not in names:
        headers["Content-Type"] = (
            "text/plain; charset=utf-8" if isinstance(data, str) else "application/octet-stream"
        )
    return _body_bytes(data)


def _aiohttp_response_class() -> type:
    """aiohttp's response, buildable without a connection on every aiohttp release: from 3.14
    its constructor needs a ``stream_writer``, which aioresponses (0.7.9) does not pass."""
    import inspect
    from types import SimpleNamespace

    import aiohttp

    needs_writer = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters

    class Response(aiohttp.ClientResponse):
        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            if needs_writer:
                kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    return Response


#: the ClientTimeout of the aiohttp request being answered (the session's, or the request's own)
_AIOHTTP_TIMEOUT: contextvars.ContextVar[Any] = contextvars.ContextVar("marketap_aiohttp_timeout")


def _aiohttp_timeout(session: Any, kwargs: dict[str, Any]) -> Any:
    """The ``ClientTimeout`` aiohttp applies to this request, chosen as ``_request`` chooses it."""
    import aiohttp

    timeout = kwargs.get("timeout")
    if timeout is None or timeout is getattr(aiohttp.helpers, "sentinel", None):
        return session.timeout
    return timeout if isinstance(timeout, aiohttp.ClientTimeout) else aiohttp.ClientTimeout(total=timeout)


def _aiohttp_route(app: Callable[[], Flask]) -> Callable[..., Any]:
    import aiohttp
    from aioresponses import CallbackResult

    response_class = _aiohttp_response_class()
    # aiohttp 3.10 named the read timeout's own subclass; before it, ServerTimeoutError
    read_timeout_error = getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)

    async def handle(url: Any, **kwargs: Any) -> CallbackResult:
        headers = {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()}
        body = _aiohttp_body(kwargs, headers)
        answer = call_app(app(), kwargs.get("method", "POST"), str(url), list(headers.items()), body)
        timeout = _AIOHTTP_TIMEOUT.get(None)
        total = getattr(timeout, "total", None)
        sock_read = getattr(timeout, "sock_read", None)
        # Whichever of the two limits is shorter fires first, as its timer would on the wire.
        limit = min((t for t in (total, sock_read) if t is not None), default=None)
        wait, timed_out = _wait(answer.delay, limit)
        if wait:
            await asyncio.sleep(wait)  # holds nothing: other tasks go on
        if timed_out:
            if limit == total:
                raise asyncio.TimeoutError
            raise read_timeout_error("Timeout on reading data from socket")
        if answer.dropped:
            raise aiohttp.ServerDisconnectedError()
        return CallbackResult(
            status=answer.status,
            headers=dict(answer.headers),
            body=answer.body,
            content_type=dict(answer.headers).get("Content-Type", "application/octet-stream"),
            response_class=response_class,
        )

    return handle


def _start_aiohttp(pattern: re.Pattern[str], app: Callable[[], Flask]) -> Callable[[], None]:
    """Puts a plain function in place of ``ClientSession._request``: the vendor's host to the
    fake, anything else to the ``_request`` it found (aiohttp's, or a test's own aioresponses
    started before). aioresponses builds the fake's answers, but its own patch is not used: it
    patches with ``autospec``, which fails on a mock already in place, so a test's aioresponses
    could start neither inside nor around the fake's."""
    from aiohttp import ClientSession
    from aioresponses import aioresponses

    route = _aiohttp_route(app)
    mock = aioresponses()
    mock._responses, mock._matches = [], {}  # what its start() sets up, less the patch
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        mock.add(pattern, method=method, callback=_bind(route, method), repeat=True)
    previous = ClientSession.__dict__["_request"]

    async def _request(
        session: ClientSession, method: str, str_or_url: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if pattern.match(str(session._build_url(str_or_url))):  # joined to the session's base_url
            token = _AIOHTTP_TIMEOUT.set(_aiohttp_timeout(session, kwargs))
            try:
                return await mock._request_mock(session, method, str_or_url, *args, **kwargs)
            finally:
                _AIOHTTP_TIMEOUT.reset(token)
        return await previous(session, method, str_or_url, *args, **kwargs)

    ClientSession._request = _request  # type: ignore[method-assign,assignment]
    restore_match = _aiohttp_vendor_first(mock, pattern)

    def stop() -> None:
        restore_match()
        ClientSession._request = previous  # type: ignore[method-assign]
        for response in mock._responses:
            response.close()
        mock.clear()

    return stop


def _aiohttp_vendor_first(fake: Any, pattern: re.Pattern[str]) -> Callable[[], None]:
    """Until the returned function is called, a test's own aioresponses started inside the
    fake's (it sees every request first) hands a request for the vendor's host that none of
    its responses match to the fake, where it would raise "Connection refused"."""
    from aioresponses import aioresponses

    original = aioresponses.__dict__["match"]

    async def match(mock: Any, method: str, url: Any, allow_redirects: bool = True, **kwargs: Any) -> Any:
        if (
            mock is not fake
            and pattern.match(str(url))
            and not any(m.match(method, url) for m in mock._matches.values())
        ):
            mock = fake
        return await original(mock, method, url, allow_redirects=allow_redirects, **kwargs)

    aioresponses.match = match  # type: ignore[method-assign,assignment]
    return lambda: setattr(aioresponses, "match", original)


# --- all of them ------------------------------------------------------------------------------


#: what each door needs installed: aiohttp's answers are built by aioresponses
_NEEDS = {
    "httpx": ("httpx", "anyio"),
    "requests": ("urllib3",),
    "aiohttp": ("aiohttp", "aioresponses"),
}

#: each client's door: patches it and returns what unpatches it
_DOORS: dict[str, Callable[[re.Pattern[str], Callable[[], Flask]], Callable[[], None]]] = {
    "httpx": _start_httpx,
    "requests": _start_urllib3,
    "aiohttp": _start_aiohttp,
}
assert set(_DOORS) == set(_NEEDS) == set(CLIENTS)


def available(client: str) -> bool:
    """Whether ``client`` can be served: it and what its door needs are installed, and aiohttp
    has been imported (code that uses it imports it first, and patching it is not free)."""
    if client == "aiohttp" and "aiohttp" not in sys.modules:
        return False
    return all(_installed_module(name) for name in _NEEDS[client])


@functools.cache
def _installed_module(name: str) -> bool:
    if name == "urllib3":  # the door's method took its present form in urllib3 2.0
        try:
            from importlib.metadata import version

            return int(version("urllib3").split(".")[0]) >= 2
        except Exception:
            return False
    return importlib.util.find_spec(name) is not None


class InProcess:
    """Routes the vendor's host into ``app`` for every client here until :meth:`stop`.

    Nests: each client is patched once, by the outermost route, and a request goes to the app of
    the innermost route active for its client (``mock_marketap`` inside a decorated test, say).
    """

    _lock = threading.Lock()
    _apps: ClassVar[dict[str, list[Flask]]] = {}
    _stops: ClassVar[dict[str, Callable[[], None]]] = {}

    def __init__(self, app: Flask, base_url: str = spec.BASE_URL, clients: tuple[str, ...] = CLIENTS) -> None:
        self.app = app
        self.base_url = base_url
        self.clients = tuple(c for c in clients if available(c))
        self._started: list[str] = []

    def start(self) -> InProcess:
        pattern = vendor_url_pattern(self.base_url)
        with self._lock:
            try:
                for client in self.clients:
                    apps = self._apps.setdefault(client, [])
                    if not apps:
                        self._stops[client] = _DOORS[client](pattern, _current(apps))
                    apps.append(self.app)
                    self._started.append(client)
            except BaseException:
                self._stop()
                raise
        return self

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        while self._started:
            client = self._started.pop()
            apps = self._apps[client]
            del apps[len(apps) - 1 - apps[::-1].index(self.app)]  # this route's entry, the last one
            if not apps:
                self._stops.pop(client)()


def _current(apps: list[Flask]) -> Callable[[], Flask]:
    return lambda: apps[-1]


def _bind(route: Callable[..., Any], method: str) -> Callable[..., Any]:
    async def handle(url: Any, **kwargs: Any) -> Any:
        return await route(url, method=method, **kwargs)

    return handle
