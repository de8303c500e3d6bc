"""Proxy mode: each ingestion request is judged by the fake's rules, then sent on to the real
service (the *upstream*) and its answer returned to the client unchanged.

Plain Python over httpx (already a dependency); no Flask. The pipeline calls
:meth:`Upstream.forward` outside every lock, so one slow upstream call holds only its own
request. Each call runs on the upstream's own event loop, in a thread of its own, under one
deadline for the whole exchange: an upstream that drips its answer a byte at a time is cut off
at the deadline, where httpx's timeouts bound each read alone. The proxy sends on what it
judged, byte for byte (header values as bytes, the query as received, percent-encoded only where
a URL cannot hold a byte), marks what it sends with ``Via`` and refuses a request that already
passed through it (a loop). It never retries: the client's own retry logic is what is under
test.

httpx is imported on first use, not with this module: ``marketap-mock contract`` loads the CLI
(and so this module) before pytest starts, and httpx 0.27 brings anyio, whose pytest plugin
pytest then cannot rewrite (a warning that ``-W error`` turns into a failure).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import secrets
import socket
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mockserver.errors import ApiError, SettingsError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_UPSTREAM",
    "HOP_BY_HOP",
    "LENIENT",
    "Forwarded",
    "Upstream",
    "check_connection",
    "check_upstream_url",
]

log = logging.getLogger("mockserver")

DEFAULT_UPSTREAM = "https://event.marketap.io"

#: RFC 9110 §7.6.1: headers meant for one connection, never forwarded (with those a
#: ``Connection`` header names). ``host`` and ``content-length`` are the upstream's own, and
#: ``expect``: the body is already here, so there is nothing to wait for a 100 Continue about.
HOP_BY_HOP = frozenset(
    {
        "expect",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

#: A body the fake refused and the upstream accepted is stored if the fake's most lenient reading
#: of the rules accepts it (a naive timestamp, a reserved property of another type, ...): the
#: state then shows what the real service took. The limits stay: they bound the fake's memory.
LENIENT: dict[str, Any] = {
    "allow_naive_timestamps": True,
    "timestamp_format": "iso8601",
    "allow_empty_batches": True,
    "require_event_user_id": False,
    "check_reserved_properties": False,
    "reject_control_characters": False,
    "reject_unknown_reserved": False,
}

#: how much of an upstream answer the journal keeps
_MAX_JOURNALED = 2000
#: what is read of an answer beyond what is journaled, so that a credential the upstream echoes
#: across the cut is masked whole
_MAX_STRADDLE = 1024

#: the largest upstream answer relayed; the vendor's answers are a few hundred bytes
_MAX_ANSWER = 16 << 20


def check_upstream_url(url: str) -> str:
    """``url`` without a trailing slash, when it is an absolute http(s) URL with no query."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"upstream must be an http:// or https:// URL with a host, not {url!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"upstream must not carry a query or a fragment: {url!r}")
    return url.rstrip("/")


#: the headers the fake judges a request by: a ``Connection`` header may not name them
_JUDGED = frozenset({"authorization", "content-type", "content-encoding", "origin", "via"})

#: bytes a URL's query cannot hold as they are: sent on percent-encoded, once
_NOT_IN_URL = re.compile(rb"[^\x21-\x7e]")


def check_connection(headers: Mapping[str, str]) -> None:
    """Refuse a ``Connection`` header naming a header the fake judged the request by
    (``Connection: Authorization``): a proxy drops what it names, so the upstream would judge
    another request than the one judged here."""
    value = headers.get("connection", "")
    for token in (t.strip().lower() for t in value.split(",")):
        if token in _JUDGED:
            raise ApiError.one(
                400,
                "Connection",
                f"names {token!r}, which this request was judged by: a proxy drops the headers "
                "Connection names, and would send on another request than the one judged here",
            )


def _hop_by_hop(headers: httpx.Headers | Mapping[str, str]) -> frozenset[str]:
    named = {token.strip().lower() for token in headers.get("connection", "").split(",") if token.strip()}
    return HOP_BY_HOP | named


@dataclass
class Forwarded:
    """What came back: the upstream's answer, or why there is none (``error``, in words, with the
    envelope to answer instead: 502 or 504)."""

    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: ApiError | None = None

    @property
    def reason(self) -> str | None:
        return self.error.errors[0].reason if self.error is not None else None

    def text(self, mask: Callable[[str], str] = str) -> str | None:
        """The answer's body as text for the journal (inflated, cut at 2,000 characters): why the
        upstream refused, where the fake did not. ``mask`` is applied before the cut, so that a
        credential the upstream echoes across it is still masked whole."""
        if self.status is None:
            return None
        data = self.body
        encoding = next((v for k, v in self.headers if k.lower() == "content-encoding"), "").strip().lower()
        if encoding in ("gzip", "deflate"):
            # wbits 47 inflates gzip or zlib, told apart by the header; max_length bounds the output.
            try:
                data = zlib.decompressobj(wbits=47).decompress(data, _MAX_JOURNALED * 4 + _MAX_STRADDLE)
            except zlib.error:
                return f"({len(self.body)} bytes of {encoding} that do not inflate)"
        # what is journaled (up to four bytes a character), and room for a credential across the cut
        text = mask(data[: _MAX_JOURNALED * 4 + _MAX_STRADDLE].decode("utf-8", "replace"))
        return text if len(text) <= _MAX_JOURNALED else text[:_MAX_JOURNALED] + "…"


class Upstream:
    """Where a proxy sends requests on. ``enforce``: a request the fake refuses is answered with
    the fake's 4xx and not sent on (a guard for staging). ``timeout``: the one deadline for the
    whole exchange with the upstream, from connecting to the last byte of its answer."""

    def __init__(self, url: str = DEFAULT_UPSTREAM, *, timeout: float = 10.0, enforce: bool = False) -> None:
        self.url = check_upstream_url(url)
        if not 0 < timeout <= 3600:
            raise SettingsError(f"upstream timeout must be between 0 and 3600 seconds, not {timeout}")
        self.timeout = timeout
        self.enforce = enforce
        #: this proxy's name in ``Via`` (RFC 9110 §7.6.3): unique per process, so a request that
        #: comes back to it is known as a loop
        self.via = f"1.1 marketap-mock-{secrets.token_hex(6)}"
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def describe(self) -> dict[str, object]:
        return {"upstream": self.url, "timeout": self.timeout, "enforce": self.enforce}

    def check_not_self(self, host: str, port: int) -> None:
        """Refuse an upstream that is this proxy's own address (``host:port``, where it listens):
        each request would come back to it."""
        parts = urlsplit(self.url)
        upstream_port = parts.port or (443 if parts.scheme == "https" else 80)
        if upstream_port != port or parts.hostname is None:
            return
        mine = _addresses(host)
        if _is_wildcard(host):
            mine |= _addresses("localhost") | {"127.0.0.1", "::1"}
        if mine & _addresses(parts.hostname):
            raise SettingsError(
                f"upstream {self.url} is this proxy itself ({host}:{port}); each request would "
                "come back to it: give the real service's URL"
            )

    def check_loop(self, via: str | None) -> None:
        """A 508 when a request's ``Via`` header shows it already passed through this proxy."""
        if via and self.via.split(" ", 1)[1] in via:
            raise _failure(
                508,
                "this request already passed through this proxy (its Via header names it): the "
                "upstream leads back here; point --upstream at the real service",
                field_="Via",
            )

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=_run, args=(loop,), name="marketap-mock:upstream", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def _http(self) -> httpx.AsyncClient:
        import httpx  # on first use (see the module's docstring)

        # Only the upstream's loop calls this, so no lock is needed.
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                # A redirect is the upstream's answer, for the client to follow.
                follow_redirects=False,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=32),
            )
        return self._client

    def forward(
        self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes
    ) -> Forwarded:
        """Send one request on, as received less hop-by-hop headers; never retried. Never
        raises: a failure of any kind is a 502 (or a 504 past the deadline) in words."""
        try:
            loop = self._running_loop()
            if self._client is None:
                # Building the client and loading its async backend take a while the first time,
                # which the deadline, meant for the upstream, must not count.
                asyncio.run_coroutine_threadsafe(self._warm(), loop).result()
            future = asyncio.run_coroutine_threadsafe(
                self._exchange(method, path, query_string, headers, body), loop
            )
            return future.result()
        except Exception as exc:
            # Only the error's type: a library's message may quote the request's headers.
            log.error("sending a request on to %s failed: %s", self.url, type(exc).__name__)
            return Forwarded(
                None, error=_failure(502, f"could not send it on to {self.url}: {type(exc).__name__}")
            )

    async def _warm(self) -> None:
        import anyio  # noqa: F401  (httpx's async transport runs on it)

        self._http()

    async def _exchange(
        self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes
    ) -> Forwarded:
        try:
            return await asyncio.wait_for(self._send(method, path, query_string, headers, body), self.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return Forwarded(None, error=_timed_out(self.url, self.timeout))

    async def _send(
        self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes
    ) -> Forwarded:
        import httpx  # on first use (see the module's docstring)

        drop = _hop_by_hop(headers) | {"via"}
        sent = [
            (name.encode("latin-1"), _raw(value))
            for name, value in headers.items()
            if name.lower() not in drop
        ]
        via = headers.get("via")
        sent.append((b"via", _raw(f"{via}, {self.via}" if via else self.via)))
        query = _NOT_IN_URL.sub(lambda m: b"%%%02X" % m[0][0], _raw(query_string))
        client = self._http()
        try:
            url = httpx.URL(self.url + path)
            if query:
                url = url.copy_with(query=query)
            request = client.build_request(method, url, headers=sent, content=body)
            response = await client.send(request, stream=True)
            try:
                parts: list[bytes] = []
                size = 0
                # Relayed as sent: a gzip answer stays gzip.
                async for chunk in response.aiter_raw():
                    parts.append(chunk)
                    size += len(chunk)
                    if size > _MAX_ANSWER:
                        raise httpx.DecodingError(f"its answer is larger than {_MAX_ANSWER} bytes")
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            return Forwarded(None, error=_timed_out(self.url, self.timeout))
        except httpx.ConnectError as exc:
            return Forwarded(None, error=_failure(502, f"could not reach {self.url}: {_words(exc)}"))
        except httpx.HTTPError as exc:
            # A broken answer, or one too large to relay.
            return Forwarded(None, error=_failure(502, f"no usable answer from {self.url}: {_words(exc)}"))
        back_drop = _hop_by_hop(response.headers)
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in back_drop]
        return Forwarded(response.status_code, kept, b"".join(parts))

    def close(self) -> None:
        with self._lock:
            loop, client = self._loop, self._client
            self._loop = self._client = None
        if loop is None:
            return
        if client is not None:
            future = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            try:
                future.result(timeout=5)
            except Exception:  # closing is best effort: the loop ends next anyway
                log.debug("closing the upstream client failed", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)


def _run(loop: asyncio.AbstractEventLoop) -> None:
    """The upstream's event loop, until :meth:`Upstream.close` stops it."""
    try:
        loop.run_forever()
    finally:
        loop.close()


def _raw(value: str) -> bytes:
    """A header value or query as the bytes received: servers hand them over decoded as
    latin-1 (PEP 3333); a value given as text in process, beyond latin-1, goes as UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _addresses(host: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return set()


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _timed_out(url: str, timeout: float) -> ApiError:
    reason = (
        f"no whole answer from {url} within {timeout:g} s (--upstream-timeout); "
        "it may have processed the request"
    )
    return _failure(504, reason)


def _words(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _failure(status: int, reason: str, *, field_: str = "upstream") -> ApiError:
    message = {502: "Bad Gateway.", 504: "Gateway Timeout.", 508: "Loop Detected."}[status]
    return ApiError.one(status, field_, reason, message=message)
