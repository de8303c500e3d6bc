"""The WSGI app: a thin HTTP layer over the pipeline and the control plane.

``create_app(config=None, *, backend=None)`` returns a Flask app. With no arguments the fake
accepts the API key ``test-api-key`` for the project ``test-project``.

Requests to ``/_mock/`` (the control plane and the page) go through Flask. Every other request
is answered by :class:`_Ingestion`, a plain WSGI function in front of Flask: Flask's request
and response objects cost a fifth of a 1,000-event request, and ingestion uses none of their
features. Both serve every way in (a socket, Flask's test client, the respx route).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 (registers the "werkzeug.url_quote" error handler used below)
from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from mockserver import pipeline
from mockserver.backend import Backend
from mockserver.control import control
from mockserver.errors import ApiError
from mockserver.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DROP_HEADER", "create_app"]

log = logging.getLogger("mockserver")

_DRAIN_CHUNK = 1 << 20
_DRAIN_MAX = 1 << 30  # past this a client sending an endless body is cut off


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    backend: Backend | None = None,
    control_token: str | None = None,
) -> Flask:
    """The fake as a WSGI app. Pass ``backend`` to share state with other ways in."""
    if backend is None:
        backend = Backend(config)
    elif config is not None:
        backend.update_settings(config.as_dict() if isinstance(config, Settings) else config)
    app = Flask("mockserver")
    app.extensions["mockserver"] = backend
    app.config["MOCKSERVER_CONTROL_TOKEN"] = control_token
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(control)
    app.wsgi_app = _Ingestion(app.wsgi_app, backend)  # type: ignore[method-assign]

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


def _render(error: ApiError) -> Response:
    reply = pipeline.error_reply(error)
    return Response(reply.body, status=reply.status, headers=reply.headers)


class _Ingestion:
    """Answers every request outside ``/_mock`` through the pipeline; hands the rest to Flask."""

    def __init__(self, flask_app: WSGIApplication, backend: Backend) -> None:
        self.flask_app = flask_app
        self.backend = backend

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # werkzeug's reading of PATH_INFO, as Flask's request.path would give it
        path = "/" + environ.get("PATH_INFO", "").encode("latin-1").decode(errors="replace").lstrip("/")
        if path == "/_mock" or path.startswith("/_mock/"):
            return self.flask_app(environ, start_response)
        try:
            reply = pipeline.handle(self.backend, _incoming(self.backend, environ, path))
        except HTTPException as error:  # werkzeug's stream: a client that went away mid-body
            reply = pipeline.error_reply(ApiError.one(error.code or 400, "request", error.description or ""))
        except Exception:  # never a traceback on the wire
            log.exception("unexpected error")
            reply = pipeline.error_reply(
                ApiError.one(500, "request", "the fake failed on this request; please report it")
            )
        if reply.drop:
            reply = _drop(environ)
        headers = [*reply.headers.items(), ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {HTTP_STATUS_CODES.get(reply.status, 'UNKNOWN')}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [reply.body]


def _drop(environ: WSGIEnvironment) -> pipeline.Reply:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone: the same outcome
            sock.shutdown(socket.SHUT_RDWR)  # the client sees the connection close, no answer
        return pipeline.Reply(503)  # never reaches the client
    return pipeline.Reply(503, headers={DROP_HEADER: "1"})


def _incoming(backend: Backend, environ: WSGIEnvironment, path: str) -> pipeline.IncomingRequest:
    limit = backend.settings.max_body_bytes
    stream = get_input_stream(environ)  # never past Content-Length; chunked if the server ends it
    body = stream.read(limit + 1)
    too_large = len(body) > limit
    if too_large:
        # Read the rest so the client sees our 413 rather than a reset connection.
        drained = 0
        while drained < _DRAIN_MAX and (chunk := stream.read(_DRAIN_CHUNK)):
            drained += len(chunk)
        body = b""
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k[:5] == "HTTP_"}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    query = environ.get("QUERY_STRING", "").encode("latin-1").decode(errors="replace")
    return pipeline.IncomingRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query=parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"),
        headers=headers,
        body=body,
        too_large=too_large,
    )
