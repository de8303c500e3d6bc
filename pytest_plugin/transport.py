"""The in-process route: httpx requests for the vendor's host go into the Flask app, no socket.

``respx.WSGIHandler`` serves ``httpx.Client`` only (its response stream is not async), so the
side effect here runs the app itself and returns a fully read ``httpx.Response``, which both
``httpx.Client`` and ``httpx.AsyncClient`` accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx
    import respx
    from flask import Flask

__all__ = ["app_side_effect", "start_router"]


def app_side_effect(app: Flask) -> Callable[[httpx.Request], httpx.Response]:
    import httpx

    from mockserver.app import DROP_HEADER

    client = app.test_client()

    def handle(request: httpx.Request) -> httpx.Response:
        response = client.open(
            request.url.raw_path.decode("ascii"),
            method=request.method,
            headers=[(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"],
            data=request.content,
        )
        if response.headers.get(DROP_HEADER):
            # what httpx raises when a server closes the connection without answering
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            response.status_code,
            headers=[(k, v) for k, v in response.headers.items() if k.lower() != "content-length"],
            content=response.get_data(),
            request=request,
        )

    return handle


def start_router(app: Flask, base_url: str) -> respx.MockRouter:
    """Route every httpx request for ``base_url``'s host into ``app``; let others through."""
    import respx

    parts = urlsplit(base_url)
    router = respx.MockRouter(assert_all_called=False, assert_all_mocked=False)
    router.route(scheme=parts.scheme, host=parts.hostname).mock(side_effect=app_side_effect(app))
    router.route().pass_through()  # other hosts are not hijacked
    router.start()
    return router
