"""The in-process routes: requests for the vendor's host go into the app with no socket, from
httpx (respx), requests (responses) and aiohttp (aioresponses, when aiohttp is installed).

Each library's own mocking tool intercepts its client; every one hands the request to
:func:`call_app`, which runs it through the one WSGI app (so the pipeline, faults and journal
are those of the live fake), and turns a dropped connection into that client's own error.
Requests for other hosts go out as usual.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlencode, urlsplit

from mockserver import spec

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["CLIENTS", "Answer", "InProcess", "call_app", "vendor_url_pattern"]

#: the clients served in process, in the order they are patched
CLIENTS = ("httpx", "requests", "aiohttp")

#: what each client says when a server closes the connection without answering
_HTTPX_DROP = "Server disconnected without sending a response."
_REQUESTS_DROP = (
    "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"
)


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


def call_app(app: Flask, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
    """Run one request through the app, as a server would; the latency is the caller's to wait.

    The environ is built as the asyncio front builds it, rather than by werkzeug's test client,
    whose cost per request is as much as the rest of a test."""
    from mockserver.asgi_front import wsgi_environ
    from mockserver.ingest_front import DROP_HEADER, attach_body

    parts = urlsplit(url)
    skip = ("host", "content-length", "transfer-encoding")  # the body is whole: its length is known
    raw = [(_header_bytes(k), _header_bytes(v)) for k, v in headers if k.lower() not in skip]
    scope = {
        "method": method.upper(),
        "path": unquote(parts.path or "/"),
        "query_string": parts.query.encode("latin-1", "replace"),
        "headers": [(b"host", b"localhost"), *raw, (b"content-length", str(len(body)).encode())],
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 0),
    }
    environ = wsgi_environ(scope)
    delays: list[float] = []
    attach_body(environ, body, delays)
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
    dropped = any(k.lower() == DROP_HEADER.lower() for k, _ in out)
    out = [(k, v) for k, v in out if k.lower() != DROP_HEADER.lower()]
    return Answer(status, out, content, dropped, sum(delays))


def _header_bytes(text: str) -> bytes:
    """As clients send a header: latin-1, or UTF-8 for what latin-1 cannot say."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _body_bytes(data: Any) -> bytes:
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    return b"".join(part if isinstance(part, bytes) else str(part).encode() for part in data)


# --- httpx (respx) ----------------------------------------------------------------------------


def _httpx_route(app: Callable[[], Flask]) -> Callable[[Any], Any]:
    import httpx

    def handle(request: httpx.Request) -> httpx.Response:
        headers = list(request.headers.multi_items())
        answer = call_app(app(), request.method, str(request.url), headers, request.read())
        # Without a latency fault there is nothing to wait, and even time.sleep(0) is a
        # system call on every request.
        if answer.delay:
            time.sleep(answer.delay)
        if answer.dropped:  # what httpx raises when a server closes without answering
            raise httpx.RemoteProtocolError(_HTTPX_DROP, request=request)
        headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
        return httpx.Response(answer.status, headers=headers, content=answer.body, request=request)

    return handle


# --- requests (responses) ---------------------------------------------------------------------


def _requests_route(app: Callable[[], Flask]) -> Callable[[Any], Any]:
    import requests

    def handle(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        answer = call_app(
            app(),
            request.method or "GET",
            request.url or "",
            list(request.headers.items()),
            _body_bytes(request.body),
        )
        # Without a latency fault there is nothing to wait, and even time.sleep(0) is a
        # system call on every request.
        if answer.delay:
            time.sleep(answer.delay)
        if answer.dropped:  # what requests raises when a server closes without answering
            raise requests.ConnectionError(_REQUESTS_DROP, request=request)
        return answer.status, dict(answer.headers), answer.body

    return handle


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


def _aiohttp_route(app: Callable[[], Flask]) -> Callable[..., Any]:
    import aiohttp
    from aioresponses import CallbackResult

    response_class = _aiohttp_response_class()

    async def handle(url: Any, **kwargs: Any) -> CallbackResult:
        headers = {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()}
        body = _aiohttp_body(kwargs, headers)
        answer = call_app(app(), kwargs.get("method", "POST"), str(url), list(headers.items()), body)
        if answer.delay:
            await asyncio.sleep(answer.delay)  # holds nothing: other tasks go on
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


# --- all of them ------------------------------------------------------------------------------


#: what each route needs installed: requests and aiohttp are served where their mocking tools are
_NEEDS = {
    "httpx": ("httpx", "respx"),
    "requests": ("requests", "responses"),
    "aiohttp": ("aiohttp", "aioresponses"),
}


def available(client: str) -> bool:
    """Whether ``client`` can be served: it and its mocking tool are installed, and aiohttp has
    been imported (code that uses it imports it first, and patching it is not free)."""
    if client == "aiohttp" and "aiohttp" not in sys.modules:
        return False
    return _installed(client)


@functools.cache
def _installed(client: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in _NEEDS[client])


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
                        self._stops[client] = self._patch(client, pattern)
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

    _mocks: ClassVar[dict[tuple[str, str], _RespxRoute | _ResponsesRoute]] = {}

    def _patch(self, client: str, pattern: re.Pattern[str]) -> Callable[[], None]:
        """Patch ``client``; returns what unpatches it. The mocks of httpx and requests are built
        once per base URL and started per test (building one costs as much as a test)."""
        app = _current(self._apps[client])
        if client == "aiohttp":
            return _start_aiohttp(pattern, app)
        route: _RespxRoute | _ResponsesRoute | None = self._mocks.get((client, pattern.pattern))
        if route is None:
            build = _RespxRoute if client == "httpx" else _ResponsesRoute
            route = self._mocks[client, pattern.pattern] = build(pattern, app)
        route.start()
        return route.stop


class _RespxRoute:
    """A respx router for the vendor's host, in respx's mocker of its own (see
    :func:`_respx_mocker`). Its routes never change, so a start is only a registration: no
    snapshot to take and roll back (respx's ``start`` builds three ``Mock`` objects)."""

    def __init__(self, pattern: re.Pattern[str], app: Callable[[], Flask]) -> None:
        import respx
        from respx.mocks import Mocker

        self.router = respx.MockRouter(assert_all_called=False, assert_all_mocked=False)
        self.router.route(url__regex=pattern.pattern).mock(side_effect=_httpx_route(app))
        self.router.route().pass_through()  # other hosts are not hijacked
        self.mocker = Mocker.registry[_respx_mocker()]

    def start(self) -> None:
        self.mocker.register(self.router)
        self.mocker.start()

    def stop(self) -> None:
        self.mocker.unregister(self.router)
        self.mocker.stop()
        self.router.reset()  # the records of calls: none piles up over a session


class _ResponsesRoute:
    """A ``responses`` mock of the vendor's host; what matches no route goes out as usual.

    A test's own ``RequestsMock`` may start before this one (a fixture) or after it
    (``@responses.activate`` on the test), and the last started sees every request first:

    * started before: what this mock passes through goes to the send in place when it started
      (the test's mock), not to the one ``responses`` saw at import, which would put the test's
      other services on the network;
    * started after: the test's mock answers the vendor's requests it has a response for, and
      hands the others to the fake rather than refusing them (see :func:`_vendor_first`).
    """

    def __init__(self, pattern: re.Pattern[str], app: Callable[[], Flask]) -> None:
        import responses

        self.pattern = pattern
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        callback = _requests_route(app)
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            self.mock.add_callback(method, pattern, callback=callback)
        self.mock.add_passthru(re.compile(".*"))
        self._restore: Callable[[], None] | None = None

    def start(self) -> None:
        from requests.adapters import HTTPAdapter

        self.mock._real_send = HTTPAdapter.send
        self.mock.start()
        self._restore = _vendor_first(self)

    def stop(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
        self.mock.stop()
        self.mock.calls.reset()  # the records of calls: none piles up over a session


def _vendor_first(route: _ResponsesRoute) -> Callable[[], None]:
    """Until the returned function is called, any other ``RequestsMock`` hands a request for
    the vendor's host that none of its responses match to ``route`` (the fake), where it would
    raise "Connection refused by Responses" or pass it to the network."""
    from responses import RequestsMock

    original = RequestsMock.__dict__["_on_request"]

    def on_request(mock: Any, adapter: Any, request: Any, **kwargs: Any) -> Any:
        if (
            mock is not route.mock
            and route.pattern.match(str(request.url))
            and not _answers(mock, request, kwargs)
        ):
            return route.mock._on_request(adapter, request, **kwargs)
        return original(mock, adapter, request, **kwargs)

    RequestsMock._on_request = on_request  # type: ignore[method-assign,assignment]
    return lambda: setattr(RequestsMock, "_on_request", original)


def _answers(mock: Any, request: Any, kwargs: dict[str, Any]) -> bool:
    """Whether one of ``mock``'s responses matches ``request``; asked of each response, as the
    registry's own search would pop the one it finds."""
    # what _on_request sets up before its search, so that query and body matchers work alike
    request.params = mock._parse_request_params(request.path_url)
    request.req_kwargs = {k: v for k, v in kwargs.items() if k != "retries"}
    if hasattr(mock, "_read_filelike_body"):  # not in responses 0.25.0
        request.body = mock._read_filelike_body(request.body)
    return any(response.matches(request)[0] for response in mock.registered())


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
            return await mock._request_mock(session, method, str_or_url, *args, **kwargs)
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


def _respx_mocker() -> str:
    """The name of respx's mocker for the fake's router: one of its own, at the layer of
    ``httpx.Client._transport_for_url``. A test's own respx mocks (default: httpcore layer) get
    what the fake's router passes through, whichever started first (in respx's default mocker
    the first router registered takes every request); and it patches 2 methods per test, not
    the 26 of the default mocker."""
    from respx.mocks import HTTPXMocker, Mocker

    method = HTTPXMocker.target_methods[0]  # _transport_for_url
    if "marketap" not in Mocker.registry:

        class VendorMocker(HTTPXMocker):
            name = "marketap"
            targets: ClassVar[list[str]] = list(HTTPXMocker.targets)
            _saved: ClassVar[list[tuple[type, Any]]] = []

            # Plain attribute swaps in place of mock.patch(spec=True), which inspects the
            # method's signature at every start.
            @classmethod
            def start(cls) -> None:
                import httpx

                if cls._saved:
                    return
                for klass in (httpx.Client, httpx.AsyncClient):
                    original = klass.__dict__[method]
                    cls._saved.append((klass, original))
                    setattr(klass, method, cls.mock(original))  # type: ignore[no-untyped-call]

            @classmethod
            def stop(cls, force: bool = False) -> None:
                if cls.routers and not force:
                    return
                while cls._saved:
                    klass, original = cls._saved.pop()
                    setattr(klass, method, original)

    return "marketap"


def _current(apps: list[Flask]) -> Callable[[], Flask]:
    return lambda: apps[-1]


def _bind(route: Callable[..., Any], method: str) -> Callable[..., Any]:
    async def handle(url: Any, **kwargs: Any) -> Any:
        return await route(url, method=method, **kwargs)

    return handle
