"""The Flask app: a thin HTTP layer over the pipeline and the control plane.

``create_app(config=None, *, backend=None)`` returns the app. With no arguments the fake accepts
the API key ``test-api-key`` for the project ``test-project``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from mockserver import pipeline
from mockserver.backend import Backend
from mockserver.control import control
from mockserver.errors import ApiError
from mockserver.settings import Settings

__all__ = ["DROP_HEADER", "create_app"]

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
    app.url_map.converters["ingest_path"] = _IngestPath
    app.register_blueprint(control)

    @app.route("/", defaults={"path": ""}, methods=_METHODS)
    @app.route("/<ingest_path:path>", methods=_METHODS)
    def ingest(path: str) -> Response:
        reply = pipeline.handle(backend, _incoming(backend))
        if reply.drop:
            return _drop()
        response = Response(reply.body, status=reply.status, headers=reply.headers)
        if not reply.body:
            del response.headers["Content-Type"]  # the vendor's 202 has no content, so no type
        return response

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


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class _IngestPath(PathConverter):
    """Any path outside the control plane, so /_mock/ gets routing's own 404 and 405."""

    regex = r"(?!_mock(?:/|$))[^/].*?"


#: Where there is no socket to close (Flask's test client, the respx route), a dropped
#: connection is this answer; the respx route turns it into httpx's own error.
DROP_HEADER = "X-Marketap-Mock-Drop"


def _drop() -> Response:
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone: the same outcome
            sock.shutdown(socket.SHUT_RDWR)  # the client sees the connection close, no answer
        return Response(status=503)  # never reaches the client
    return Response(status=503, headers={DROP_HEADER: "1"})


def _render(error: ApiError) -> Response:
    reply = pipeline.error_reply(error)
    return Response(reply.body, status=reply.status, headers=reply.headers)


def _incoming(backend: Backend) -> pipeline.IncomingRequest:
    limit = backend.settings.max_body_bytes
    stream = request.stream
    body = stream.read(limit + 1)
    too_large = len(body) > limit
    if too_large:
        # Read the rest so the client sees our 413 rather than a reset connection.
        drained = 0
        while drained < _DRAIN_MAX and (chunk := stream.read(_DRAIN_CHUNK)):
            drained += len(chunk)
        body = b""
    return pipeline.IncomingRequest(
        method=request.method,
        path=request.path,
        query=list(request.args.items(multi=True)),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        too_large=too_large,
    )
