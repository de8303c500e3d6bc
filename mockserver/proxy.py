"""Proxy mode: each ingestion request is judged by the fake's rules, then sent on to the real
service (the *upstream*) and its answer returned to the client unchanged.

Plain Python over httpx (already a dependency, thread-safe, with separate connect and read
timeouts); no Flask. The pipeline calls :meth:`Upstream.forward` outside every lock, so one slow
upstream call holds only its own request. The proxy never retries: the client's own retry logic
is what is under test.

httpx is imported on first use, not with this module: ``marketap-mock contract`` loads the CLI
(and so this module) before pytest starts, and httpx 0.27 brings anyio, whose pytest plugin
pytest then cannot rewrite (a warning that ``-W error`` turns into a failure).
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mockserver.errors import ApiError, SettingsError

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_UPSTREAM", "HOP_BY_HOP", "LENIENT", "Forwarded", "Upstream", "check_upstream_url"]

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


def _hop_by_hop(headers: httpx.Headers | dict[str, str]) -> frozenset[str]:
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

    def text(self) -> str | None:
        """The answer's body as text for the journal (inflated, cut at 2,000 characters): why the
        upstream refused, where the fake did not."""
        if self.status is None:
            return None
        data = self.body
        encoding = next((v for k, v in self.headers if k.lower() == "content-encoding"), "").strip().lower()
        if encoding in ("gzip", "deflate"):
            # wbits 47 inflates gzip or zlib, told apart by the header; max_length bounds the output.
            try:
                data = zlib.decompressobj(wbits=47).decompress(data, _MAX_JOURNALED)
            except zlib.error:
                return f"({len(self.body)} bytes of {encoding} that do not inflate)"
        text = data.decode("utf-8", "replace")
        return text if len(text) <= _MAX_JOURNALED else text[:_MAX_JOURNALED] + "…"


class Upstream:
    """Where a proxy sends requests on. ``enforce``: a request the fake refuses is answered with
    the fake's 4xx and not sent on (a guard for staging)."""

    def __init__(self, url: str = DEFAULT_UPSTREAM, *, timeout: float = 10.0, enforce: bool = False) -> None:
        self.url = check_upstream_url(url)
        if not 0 < timeout <= 3600:
            raise SettingsError(f"upstream timeout must be between 0 and 3600 seconds, not {timeout}")
        self.timeout = timeout
        self.enforce = enforce
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def describe(self) -> dict[str, object]:
        return {"upstream": self.url, "timeout": self.timeout, "enforce": self.enforce}

    def _http(self) -> httpx.Client:
        import httpx  # on first use (see the module's docstring)

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.timeout,
                    # A redirect is the upstream's answer, for the client to follow.
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=256, max_keepalive_connections=32),
                )
            return self._client

    def forward(
        self, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes
    ) -> Forwarded:
        """Send one request on, as received less hop-by-hop headers; never retried."""
        import httpx  # on first use (see the module's docstring)

        drop = _hop_by_hop(headers)
        sent = {name: value for name, value in headers.items() if name.lower() not in drop}
        url = self.url + path + (f"?{query_string}" if query_string else "")
        client = self._http()
        try:
            request = client.build_request(method, url, headers=sent, content=body)
            response = client.send(request, stream=True)
            try:
                parts: list[bytes] = []
                size = 0
                # Relayed as sent: a gzip answer stays gzip.
                for chunk in response.iter_raw():
                    parts.append(chunk)
                    size += len(chunk)
                    if size > _MAX_ANSWER:
                        raise httpx.DecodingError(f"its answer is larger than {_MAX_ANSWER} bytes")
            finally:
                response.close()
        except httpx.TimeoutException:
            reason = (
                f"no answer from {self.url} within {self.timeout:g} s (--upstream-timeout); "
                "it may have processed the request"
            )
            return Forwarded(None, error=_failure(504, reason))
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
            if self._client is not None:
                self._client.close()
                self._client = None


def _words(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _failure(status: int, reason: str) -> ApiError:
    message = "Bad Gateway." if status == 502 else "Gateway Timeout."
    return ApiError.one(status, "upstream", reason, message=message)
