"""``create_app``: the fake as one WSGI app, its Flask half serving the control plane.

Flask serves ``/_mock/`` (the control plane and the dashboard, :mod:`mockserver.control`);
every other request is answered by the ingestion front wrapped around it
(:mod:`mockserver.ingest_front`). Every server and in-process route calls this one app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from mockserver import pipeline
from mockserver.backend import Backend
from mockserver.browser_guard import HostGuard
from mockserver.control import control
from mockserver.errors import ApiError
from mockserver.ingest_front import IngestFront
from mockserver.proxy import Upstream
from mockserver.settings import Settings

__all__ = ["create_app"]

#: Control calls are small JSON objects.
_MAX_CONTROL_BODY = 1 << 20


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
    app.config["MAX_CONTENT_LENGTH"] = _MAX_CONTROL_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(control)
    app.wsgi_app = IngestFront(app.wsgi_app, backend, HostGuard(allowed_hosts), upstream)  # type: ignore[method-assign]

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _render(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return _render(ApiError.one(status, "request", error.description or error.name))

    # A bug in the fake is answered in the vendor's error envelope, never a traceback.
    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        app.logger.exception("unexpected error")
        return _render(ApiError.one(500, "request", "the fake failed on this request; please report it"))

    return app


def _render(error: ApiError) -> Response:
    reply = pipeline.error_reply(error)
    return Response(reply.body, status=reply.status, headers=reply.headers)
