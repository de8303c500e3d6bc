"""The ingestion front: the WSGI function in front of Flask, and the body protocol of every door.

:class:`IngestFront` receives every request, from every way in (a socket, Flask's test client,
the in-process routes). It refuses a ``Host`` name the browser guard does not allow
(:mod:`mockserver.browser_guard`), answers every request outside ``/_mock`` through the
pipeline, and hands the control plane to Flask (:mod:`mockserver.flask_app`). Ingestion uses
none of Flask's request and response features, so it does not pay for building them.

The body protocol is how a server tells the front what it already did with the body:
:func:`attach_body` hands over a body read whole (the asyncio front, the in-process routes),
:data:`BODY_ERROR_KEY` a body that could not be read, :data:`DEFER_KEY` a way to wait for an
injected latency without holding a thread, :data:`ARRIVED_KEY` the backend's mark of when the
request arrived, taken before its body was read; :func:`declared_length` and :func:`incomplete_body`
are the rules and the error every reader shares. A server that sets none of these hands over
its raw stream, and the front reads it in bounded pieces.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

# Imported for its side effect: it registers the "werkzeug.url_quote" error handler that
# parse_qsl uses below to keep undecodable query bytes readable.
import werkzeug.urls  # noqa: F401
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from mockserver import fastpath, pipeline, spec
from mockserver.backend import Backend
from mockserver.browser_guard import PAGE_HEADERS, HostGuard
from mockserver.errors import ApiError
from mockserver.proxy import Upstream
from mockserver.secrets import Redactor

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "ARRIVED_KEY",
    "BODY_ERROR_KEY",
    "DEFER_KEY",
    "DROP_HEADER",
    "LARGE_BODY",
    "QUICK_BODY",
    "IngestFront",
    "attach_body",
    "declared_length",
    "header_map",
    "incomplete_body",
    "is_control_plane",
    "is_heavy",
    "marked_drop",
    "parse_length",
    "unexpected_failure",
]

log = logging.getLogger("mockserver")

#: A body at least this large, or compressed, is long work: inflating, parsing and validating
#: it. Such requests take turns (:attr:`IngestFront.heavy`), so however many arrive at once, one
#: thread at a time does such work and the others' answers wait for the GIL only briefly.
LARGE_BODY = 64 << 10
#: An events body up to this size that the fast path accepts is short work all the same: its
#: whole answer takes a few milliseconds (1.7 ms for 1,000 purchases, 300 KB). A thread would
#: not let others in sooner: one that holds the GIL gives it up only every switch interval
#: (5 ms), so such a body is answered where a small one is, and the hand-off is saved.
QUICK_BODY = 512 << 10

#: Bodies are read in pieces of at most this size, never in one allocation of a declared size.
_READ_CHUNK = 1 << 20
#: A refused body is read and discarded up to this many bytes; past it, a client sending an
#: endless body is cut off.
_DRAIN_MAX = 1 << 30


#: Where there is no socket to close (Flask's test client, the in-process routes), a dropped
#: connection is this answer; each in-process route turns it into its client's own error.
DROP_HEADER = "X-Marketap-Mock-Drop"

#: WSGI environ keys a server may set. ``DEFER_KEY``: a callable taking the seconds a reply must
#: wait, for a server that waits without holding a thread (the asyncio front); without it the
#: request's own thread sleeps. ``BODY_ERROR_KEY``: why the server could not read the body whole.
DEFER_KEY = "mockserver.defer"
BODY_ERROR_KEY = "mockserver.body_error"
#: ``ARRIVED_KEY``: :meth:`Backend.arrival <mockserver.backend.Backend.arrival>` as the request
#: arrived, for a server that reads the body before calling the front; without it the front
#: takes the mark itself, before it reads the body. A request that a reset overtook while its
#: body arrived stores and journals nothing.
ARRIVED_KEY = "mockserver.arrived"


class IngestFront:
    """The WSGI app every server calls: it answers ingestion itself and hands ``/_mock`` to
    ``control_app``, the Flask app of the control plane."""

    def __init__(
        self,
        control_app: WSGIApplication,
        backend: Backend,
        hosts: HostGuard,
        upstream: Upstream | None = None,
    ) -> None:
        self.control_app = control_app
        self.backend = backend
        self.hosts = hosts
        self.upstream = upstream
        #: the turn a request with a large or compressed body waits for (see LARGE_BODY)
        self.heavy = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # The path as werkzeug reads PATH_INFO, so this front and Flask's routing agree on it.
        path = "/" + environ.get("PATH_INFO", "").encode("latin-1").decode(errors="replace").lstrip("/")
        control_plane = is_control_plane(path)
        if not control_plane:
            environ.setdefault(ARRIVED_KEY, self.backend.arrival())
        try:
            self.hosts.check(environ.get("HTTP_HOST"))
            if control_plane:
                # The control plane's cross-site checks run after Flask's routing, so a wrong
                # method there is still answered 405.
                return self.control_app(environ, start_response)
            incoming = _incoming(self.backend, environ, path)
        except ApiError as error:
            reply = pipeline.error_reply(self._masked(error, _environ_headers(environ)))
            if control_plane:
                reply.headers.update(PAGE_HEADERS)
        except Exception:
            reply = unexpected_failure()
        else:
            reply = self.answer(incoming)
        if reply.drop:
            reply = _drop(environ)
        if reply.delay > 0:
            defer = environ.get(DEFER_KEY)
            if defer is not None:
                defer(reply.delay)
            else:
                time.sleep(reply.delay)
        status = f"{reply.status} {HTTP_STATUS_CODES.get(reply.status, 'UNKNOWN')}"
        start_response(status, reply.wire_headers())
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [reply.body]

    def answer(self, incoming: pipeline.IncomingRequest) -> pipeline.Reply:
        """The reply to an ingestion request whose host was checked: what every server sends,
        whether it came through :meth:`__call__` or straight from the asyncio front. A fault
        rule's ``drop`` and ``delay`` are left on the reply for the server to carry out."""
        try:
            if self.upstream is None and self.long_work(incoming):
                with self.heavy:
                    return pipeline.handle(self.backend, incoming)
            return pipeline.handle(self.backend, incoming, self.upstream)
        except ApiError as error:
            return pipeline.error_reply(error)
        except Exception:
            return unexpected_failure()

    def long_work(self, incoming: pipeline.IncomingRequest) -> bool:
        """Whether answering ``incoming`` is long work (see :data:`LARGE_BODY`), to be done in
        turns and, on the asyncio front, off the event loop; not an events body the fast path
        accepts (see :data:`QUICK_BODY`), which is judged here, once, and kept for the answer."""
        body = incoming.body
        if not is_heavy(body, incoming.headers.get("content-encoding")):
            return False
        try:
            return not (
                len(body) <= QUICK_BODY
                and spec.endpoint_for(incoming.path) is spec.EVENTS
                and fastpath.accepts_ahead(body, self.backend.settings)
            )
        except Exception:  # a bug of ours: the long way answers it in the envelope
            return True

    def take(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        query_string: bytes,
        body: bytes,
        body_error: ApiError | None,
        arrived: int | None,
    ) -> pipeline.IncomingRequest | pipeline.Reply:
        """An ingestion request read whole (or its first ``limit + 1`` bytes) by a door without a
        WSGI environ (the asyncio front, the in-process routes), by the same rules as
        :func:`_incoming`: ``headers`` as :func:`header_map` makes them, ``query_string`` as
        sent. Ready for :meth:`answer`, or already answered (a foreign host)."""
        try:
            self.hosts.check(headers.get("host"))
            too_large, kept, body_error = self._body_read(headers, body, body_error)
            raw_query = query_string.decode("latin-1")
            return pipeline.IncomingRequest(
                method=method,
                path=path,
                query=_parse_query(raw_query),
                headers=headers,
                body=kept,
                too_large=too_large,
                body_error=body_error,
                query_string=raw_query,
                arrived=arrived,
            )
        except ApiError as refused:
            return pipeline.error_reply(self._masked(refused, headers))
        except Exception:
            return unexpected_failure()

    def _masked(self, error: ApiError, headers: dict[str, str]) -> ApiError:
        """``error``, refused before the pipeline (a foreign ``Host``), with the credentials the
        request carries and the keys the fake knows masked in its reasons, as the pipeline masks
        its own: a reason quotes what was sent, and a client's test log prints the answer."""
        return Redactor(headers, keys=self.backend.settings.api_keys).error(error)

    def _body_read(
        self, headers: dict[str, str], body: bytes, body_error: ApiError | None
    ) -> tuple[bool, bytes, ApiError | None]:
        """Whether the body is too large, what of it is kept, and why it did not arrive whole."""
        limit = self.backend.settings.max_body_bytes
        try:
            declared = parse_length(headers.get("content-length"))
            if declared is not None and declared > limit:
                return True, b"", body_error
            if body_error is not None:
                return False, b"", body_error
            want = limit + 1 if declared is None else min(declared, limit + 1)
            got = body[:want]
            if declared is not None and len(got) < want:
                raise incomplete_body(len(got), declared)  # and none of it is kept
            if len(got) > limit:
                return True, b"", None
            return False, got, None
        except ApiError as error:
            return False, b"", error


def unexpected_failure() -> pipeline.Reply:
    """The answer to a bug of the fake: its error envelope, never a traceback (which is logged)."""
    log.exception("unexpected error")
    reason = "the fake failed on this request; please report it"
    return pipeline.error_reply(ApiError.one(500, "request", reason))


def is_control_plane(path: str) -> bool:
    return path == "/_mock" or path.startswith("/_mock/")


def header_map(pairs: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Raw header pairs as the front reads them from a WSGI environ: names lower-case with
    ``_`` read as ``-`` (PEP 3333 cannot tell them apart), a repeated name's values joined by
    commas, and an empty ``Content-Type`` or ``Content-Length`` left out."""
    # A client sends the same headers with every request (its body's length apart): each set is
    # read once. A copy: the caller's map is its own.
    items = tuple(pairs)
    try:
        return dict(_known_header_map(items))
    except TypeError:  # pairs given as lists (the ASGI spec allows them), which do not hash
        return _header_map(items)


def _header_map(pairs: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = raw_name.decode("latin-1").lower().replace("_", "-")
        value = raw_value.decode("latin-1")
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    # the environ holds these two apart from the HTTP_ names, so they come last
    for name in ("content-type", "content-length"):
        value = joined.pop(name, "")
        if value:
            joined[name] = value
    return joined


# The bound keeps a client sending endless new headers from growing it.
_known_header_map = functools.lru_cache(maxsize=64)(_header_map)


def is_heavy(body: bytes, content_encoding: str | None) -> bool:
    """Whether a body is long work to answer (see :data:`LARGE_BODY`)."""
    return len(body) >= LARGE_BODY or bool(content_encoding)


def _drop(environ: WSGIEnvironment) -> pipeline.Reply:
    """Close the client's connection without an answer where there is a socket (werkzeug);
    elsewhere, mark the answer with :data:`DROP_HEADER` for the door to turn into its client's
    own connection error."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        # A socket already gone is the same outcome for the client.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        # The client never sees this status: its connection is closed.
        return pipeline.Reply(503)
    return marked_drop()


def marked_drop() -> pipeline.Reply:
    """A dropped connection where there is no socket to close: the answer marked with
    :data:`DROP_HEADER`, which each in-process route turns into its client's own error."""
    return pipeline.Reply(503, headers={DROP_HEADER: "1"})


def declared_length(environ: WSGIEnvironment) -> int | None:
    """The request's ``Content-Length``, None without one; a 400 for anything but ASCII digits."""
    return parse_length(environ.get("CONTENT_LENGTH"))


def parse_length(text: str | None) -> int | None:
    """A ``Content-Length`` value read as :func:`declared_length` reads it."""
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise ApiError.one(400, "Content-Length", f"must be a whole number of bytes, not {text[:40]!r}")
    return int(text)


def _read_body(environ: WSGIEnvironment, declared: int | None, limit: int, timeout: float) -> bytes:
    """Up to ``limit + 1`` bytes of the body, in bounded reads (never one allocation the size a
    client declared); a body cut short raises a 400, one not whole within ``timeout`` a 408 (the
    server bounds each read by the same timeout)."""
    stream = environ["wsgi.input"]
    if declared is None and not environ.get("wsgi.input_terminated"):
        return b""  # no length and no chunking: no body (RFC 9112 §6.3)
    want = limit + 1 if declared is None else min(declared, limit + 1)
    parts: list[bytes] = []
    got = 0
    deadline = time.monotonic() + timeout
    try:
        while got < want and (part := stream.read(min(want - got, _READ_CHUNK))):
            parts.append(part)
            got += len(part)
            if got < want and time.monotonic() > deadline:
                raise TimeoutError
    except TimeoutError:
        raise incomplete_body(got, declared, timed_out=True) from None
    except (OSError, ValueError, HTTPException):  # the connection broke or was closed under us
        raise incomplete_body(got, declared) from None
    if declared is not None and got < want:
        raise incomplete_body(got, declared)
    return b"".join(parts)


def attach_body(environ: dict[str, Any], body: bytes, delays: list[float]) -> None:
    """Hand the front a body already read whole (or its first ``limit + 1`` bytes), and collect
    in ``delays`` the latency a reply must wait, for the caller to wait it its own way."""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    environ[DEFER_KEY] = delays.append


def incomplete_body(got: int, declared: int | None, *, timed_out: bool = False) -> ApiError:
    """The error for a body that did not arrive whole; nothing of it is stored."""
    of = f" of {declared}" if declared is not None else ""
    if timed_out:
        return ApiError.one(
            408,
            "body",
            f"incomplete: {got}{of} bytes arrived within the read timeout (setting "
            "read_timeout); nothing was stored",
            headers={"Connection": "close"},
        )
    return ApiError.one(
        400,
        "body",
        f"incomplete: {got}{of} bytes arrived before the connection closed or the "
        "chunked encoding broke; nothing was stored",
        headers={"Connection": "close"},
    )


def _drain(environ: WSGIEnvironment, declared: int) -> None:
    """Read and discard a refused body, so the client sees the 413 rather than a reset."""
    stream = environ["wsgi.input"]
    left = declared
    with contextlib.suppress(OSError, ValueError, HTTPException):
        while left > 0 and (part := stream.read(min(left, _READ_CHUNK))):
            left -= len(part)


def _incoming(backend: Backend, environ: WSGIEnvironment, path: str) -> pipeline.IncomingRequest:
    settings = backend.settings
    limit = settings.max_body_bytes
    body_error = environ.get(BODY_ERROR_KEY)
    body = b""
    too_large = False
    try:
        declared = declared_length(environ)
        if declared is not None and declared > limit:
            # Refused unread: no 100 Continue is sent, and a body that is on its way anyway is
            # discarded up to a bound, so the client sees the 413 rather than a reset.
            too_large = True
            if declared <= _DRAIN_MAX and "100-continue" not in environ.get("HTTP_EXPECT", "").lower():
                _drain(environ, declared)
        elif body_error is None:
            body = _read_body(environ, declared, limit, settings.read_timeout)
            if len(body) > limit:
                too_large = True
                body = b""
                _drain(environ, _DRAIN_MAX)
    except ApiError as error:
        body_error = error
    headers = _environ_headers(environ)
    raw_query = environ.get("QUERY_STRING", "")
    return pipeline.IncomingRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query=_parse_query(raw_query),
        headers=headers,
        body=body,
        too_large=too_large,
        body_error=body_error,
        query_string=raw_query,
        arrived=environ.get(ARRIVED_KEY),
    )


def _environ_headers(environ: WSGIEnvironment) -> dict[str, str]:
    """A WSGI environ's headers as :func:`header_map` makes them."""
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k[:5] == "HTTP_"}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _parse_query(raw_query: str) -> list[tuple[str, str]]:
    """The query's pairs; ``raw_query`` is the query string as sent, read as Latin-1 (PEP 3333)."""
    if len(raw_query) <= _CACHED_QUERY:
        return list(_parsed_query(raw_query))
    return _read_query(raw_query)


#: A client sends the same short query (``project_id=...``) with every request; parsing it cost a
#: tenth of a one-event request. Longer ones are parsed each time, so the cache stays small.
_CACHED_QUERY = 256


@functools.lru_cache(maxsize=64)
def _parsed_query(raw_query: str) -> tuple[tuple[str, str], ...]:
    return tuple(_read_query(raw_query))


def _read_query(raw_query: str) -> list[tuple[str, str]]:
    query = raw_query.encode("latin-1").decode(errors="replace")
    return parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote")
