"""The ceiling: an ASGI app that reads the body and answers 202, parsing nothing. Served by the
same granian as the fake, it shows how close the fake comes to the server's own limit."""

from __future__ import annotations

from typing import Any

_HEADERS = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    status = 202 if scope["method"] == "POST" else 200
    await send({"type": "http.response.start", "status": status, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})


class _RsgiCeiling:
    """The same on granian's RSGI interface, reading the body in one piece: what a front on it
    could save per request. ``marketap-mock serve`` keeps ASGI (see ``mockserver.asgi_front``)."""

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        await protocol()
        status = 202 if scope.method == "POST" else 200
        protocol.response_bytes(status, [("content-type", "application/json")], b"{}")


rsgi_app = _RsgiCeiling()
