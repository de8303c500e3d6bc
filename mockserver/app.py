"""The WSGI app: a thin HTTP layer over the pipeline and the control plane.

``create_app(config=None, *, backend=None)`` returns a Flask app. With no arguments the fake
accepts the API key ``test-api-key`` for the project ``test-project``.

Every request first passes the ``Host`` check of :mod:`mockserver.browser_guard`.
Requests to ``/_mock/`` (the control plane and the page) go through Flask. Every other request
is answered by :class:`_Front`, a plain WSGI function in front of Flask: Flask's request
and response objects cost a fifth of a 1,000-event request, and ingestion uses none of their
features. Both serve every way in (a socket, Flask's test client, the respx route).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 (registers the "werkzeug.url_quote" error handler used below)
from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from mockserver import pipeline
from mockserver.backend import Backend
from mockserver.control import control
from mockserver.errors import ApiError
from mockserver.browser_guard import PAGE_HEADERS, HostGuard
from mockserver.proxy import Upstream
from mockserver.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["BODY_ERROR_KEY", "DEFER_KEY", "DROP_HEADER", "create_app", "declared_length", "incomplete_body"]

log = logging.getLogger("mockserver")

_READ_CHUNK = 1 << 20
_MAX_CONTROL_BODY = 1 << 20
_DRAIN_MAX = 1 << 30  # past this a client sending an endless body is cut off


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    backend: Backend | None = None,
    control_token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    upstream: Upstream | None = None,
) -> Flask:
    """The fake as a WSGI app. Pass ``backend`` to share state with other ways in.

    ``allowed_hosts``: ``Host`` names answered besides localhost and IP addresses (``"*"``: any).
    ``upstream``: proxy mode; each ingestion request is judged, then sent there (:mod:`mockserver.proxy`).
    """
    if backend is None:
        backend = Backend(config)
    elif config is not None:
        backend.update_settings(config.as_dict() if isinstance(config, Settings) else config)
    app = Flask("mockserver")
    app.extensions["mockserver"] = backend
    app.extensions["mockserver.upstream"] = upstream
    app.config["MOCKSERVER_CONTROL_TOKEN"] = control_token
    app.config["MAX_CONTENT_LENGTH"] = _MAX_CONTROL_BODY  # control calls are small JSON objects
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(control)
    app.wsgi_app = _Front(app.wsgi_app, backend, HostGuard(allowed_hosts), upstream)  # type: ignore[method-assign]

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _render(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return _render(ApiError.one(status, "request", error.description or error.name))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:  # never a traceback on the wire
        app.logger.exception("unexpected error")
        return _render(ApiError.one(500, "request", "the fake failed on this request; please report it"))

    return app


#: Where there is no socket to close (Flask's test client, the respx route), a dropped
#: connection is this answer; the respx route turns it into httpx's own error.
DROP_HEADER = "X-Marketap-Mock-Drop"

#: WSGI environ keys a server may set. ``DEFER_KEY``: a callable taking the seconds a reply must
#: wait, for a server that waits without holding a thread (the asyncio front); without it the
#: request's own thread sleeps. ``BODY_ERROR_KEY``: why the server could not read the body whole.
DEFER_KEY = "mockserver.defer"
BODY_ERROR_KEY = "mockserver.body_error"


def _render(error: ApiError) -> Response:
    reply = pipeline.error_reply(error)
    return Response(reply.body, status=reply.status, headers=reply.headers)


class _Front:
    """In front of everything: refuses foreign ``Host`` names; answers every request outside
    ``/_mock`` through the pipeline; hands the rest to Flask (whose blueprint refuses
    cross-site control writes)."""

    def __init__(
        self, flask_app: WSGIApplication, backend: Backend, hosts: HostGuard, upstream: Upstream | None = None
    ) -> None:
        self.flask_app = flask_app
        self.backend = backend
        self.hosts = hosts
        self.upstream = upstream

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # werkzeug's reading of PATH_INFO, as Flask's request.path would give it
        path = "/" + environ.get("PATH_INFO", "").encode("latin-1").decode(errors="replace").lstrip("/")
        control_plane = path == "/_mock" or path.startswith("/_mock/")
        try:
            self.hosts.check(environ.get("HTTP_HOST"))
            if control_plane:  # its cross-site checks run after routing (control.py), so a
                return self.flask_app(environ, start_response)  # wrong method is still a 405
            reply = pipeline.handle(self.backend, _incoming(self.backend, environ, path), self.upstream)
        except ApiError as error:
            reply = pipeline.error_reply(error)
            if control_plane:
                reply.headers.update(PAGE_HEADERS)
        except Exception:  # never a traceback on the wire
            log.exception("unexpected error")
            reply = pipeline.error_reply(
                ApiError.one(500, "request", "the fake failed on this request; please report it")
            )
        if reply.drop:
            reply = _drop(environ)
        if reply.delay > 0:
            defer = environ.get(DEFER_KEY)
            if defer is not None:
                defer(reply.delay)
            else:
                time.sleep(reply.delay)
        sent = reply.upstream_headers if reply.upstream_headers is not None else list(reply.headers.items())
        headers = [*sent, ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {HTTP_STATUS_CODES.get(reply.status, 'UNKNOWN')}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [reply.body]


def _drop(environ: WSGIEnvironment) -> pipeline.Reply:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone: the same outcome
            sock.shutdown(socket.SHUT_RDWR)  # the client sees the connection close, no answer
        return pipeline.Reply(503)  # never reaches the client
    return pipeline.Reply(503, headers={DROP_HEADER: "1"})


def declared_length(environ: WSGIEnvironment) -> int | None:
    """The request's ``Content-Length``, None without one; a 400 for anything but ASCII digits."""
    text = environ.get("CONTENT_LENGTH") or ""
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
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k[:5] == "HTTP_"}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    raw_query = environ.get("QUERY_STRING", "")
    query = raw_query.encode("latin-1").decode(errors="replace")
    return pipeline.IncomingRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query=parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"),
        headers=headers,
        body=body,
        too_large=too_large,
        body_error=body_error,
        query_string=raw_query,
    )
