"""The vendor guard: while a marketap fixture or ``mock_marketap`` is active, nothing reaches the
real Marketap API by accident.

Every client that opens a connection by name asks ``socket.getaddrinfo`` first (urllib,
urllib3 and requests, httpx, asyncio and aiohttp), so the guard sits there: a lookup of
``marketap.io`` or any ``*.marketap.io`` fails at once, before any DNS query, with an error
naming the fixture that would serve the client. The attempt is also recorded, so a client that
swallows connection errors (a retry loop) still fails its test.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["RealMarketapBlocked", "attempts", "guarding", "is_vendor_host"]

_lock = threading.Lock()
_active: list[str] = []  # the fixtures (or context managers) now active, innermost last
_attempts: list[str] = []
_original = socket.getaddrinfo


class RealMarketapBlocked(ConnectionRefusedError):
    """A test tried to reach the real Marketap API. An ``OSError``, as any client expects of a
    failed connection, with a message saying what to use instead."""


def is_vendor_host(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").rstrip(".").lower()
    return name == "marketap.io" or name.endswith(".marketap.io")


_LIVE = (
    "`marketap` (a live fake on 127.0.0.1, for any client) with the client's URL pointed at `marketap.url`"
)
_ADVICE = {
    "marketap": "it serves its own URL: point the client at `marketap.url`, or use `marketap_inprocess` "
    "to keep the vendor's URL (httpx, requests and aiohttp)",
    "marketap_respx": "it serves httpx only: use `marketap_inprocess` (httpx, requests and aiohttp), "
    f"or {_LIVE}",
}


def _message(host: str, active: str) -> str:
    advice = _ADVICE.get(active, f"it serves httpx, requests and aiohttp only: for this client use {_LIVE}")
    return (
        f"marketap: this test tried to reach the real Marketap API ({host}) with a client that "
        f"{active} does not serve; {advice}. To test against the real service on purpose, pass "
        "--marketap-url https://event.marketap.io."
    )


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if _active and is_vendor_host(host):
        message = _message(host if isinstance(host, str) else repr(host), _active[-1])
        with _lock:
            _attempts.append(message)
        raise RealMarketapBlocked(message)
    return _original(host, *args, **kwargs)


@contextmanager
def guarding(active: str) -> Iterator[None]:
    """Block the vendor's hosts while this block runs; ``active`` names the fixture for the message."""
    with _lock:
        _active.append(active)
        socket.getaddrinfo = _guarded_getaddrinfo
    try:
        yield
    finally:
        with _lock:
            _active.remove(active)
            if not _active:
                socket.getaddrinfo = _original


def attempts(since: int = 0) -> list[str]:
    """The blocked attempts, oldest first, from index ``since``."""
    with _lock:
        return _attempts[since:]
