"""The browser guard: what keeps a web page the developer opens from reading or steering a fake
on 127.0.0.1.

Plain Python, applied by the ingestion front (:mod:`mockserver.ingest_front`) to every request,
on every server:

* DNS rebinding: a page on ``evil.example`` whose name is made to resolve to 127.0.0.1 talks to
  the fake as its own origin, but its requests carry ``Host: evil.example``. Only the names the
  server is reachable by are answered: ``localhost``, any IP literal (a browser sends an IP
  literal only after connecting to that very address, so no page can rebind one), and the names
  given with ``--allow-host``.
* CSRF: a form or ``fetch`` on another origin can send a "simple" POST without a preflight.
  State-changing control calls need ``Content-Type: application/json``, which no simple request
  carries (it forces a preflight, which gets no CORS grant), and a foreign ``Origin`` is refused.
* Clickjacking: the page refuses framing (:data:`PAGE_HEADERS`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from mockserver.errors import ApiError

__all__ = ["PAGE_HEADERS", "HostGuard", "check_control_write", "check_download", "check_proxy_origin"]

#: Sent with every control-plane answer: the page loads only its own files and is never framed.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_SEEN_MAX = 64

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _hostname(authority: str) -> str:
    """``Host`` header -> lower-case name without the port (``[::1]:80`` -> ``::1``)."""
    return _name(authority).lower()


def _name(authority: str) -> str:
    """``Host`` header -> name without the port, as sent: quoted back in the same case, so that
    what masks a credential in the request masks it there too."""
    text = authority.strip()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    name, _, _port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return (name or text).rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostGuard:
    """Which ``Host`` names a server answers. ``"*"`` among the names turns the check off."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        given = {_hostname(n) for n in names if n}
        self.any = "*" in given
        self.names = frozenset({"localhost", *given} - {"*"})
        # Clients send the same few Host values on every request, and parsing an IP address
        # costs more than the rest of the check; the cache is bounded, since a hostile client
        # can send a new value each time.
        self._seen: dict[str, bool] = {}

    def allows(self, host: str | None) -> bool:
        if self.any:
            return True
        if not host:  # HTTP/1.0 without Host: no browser sends that
            return True
        known = self._seen.get(host)
        if known is not None:
            return known
        name = _hostname(host)
        allowed = name in self.names or _is_ip(name)
        if len(self._seen) < _SEEN_MAX:
            self._seen[host] = allowed
        return allowed

    def check(self, host: str | None) -> None:
        if not self.allows(host):
            shown = (host or "")[:100]
            raise ApiError.one(
                403,
                "Host",
                f"this fake answers to localhost, IP addresses and the names given with --allow-host, "
                f"not {shown!r} (a page under another name must not reach it: DNS rebinding); "
                f"to reach it by that name, start it with --allow-host {_name(shown) or 'NAME'}",
            )


def check_control_write(method: str, content_type: str | None, origin: str | None, host: str | None) -> None:
    """A state-changing control call must be JSON and come from the fake's own origin (or none)."""
    if method not in _WRITES:
        return
    if origin is not None and not _same_origin(origin, host):
        raise ApiError.one(
            403,
            "Origin",
            f"control calls from another origin ({origin[:100]!r}) are refused: a web page must "
            "not steer the fake (CSRF)",
        )
    mime = (content_type or "").partition(";")[0].strip().lower()
    if mime != "application/json":
        raise ApiError.one(
            415,
            "Content-Type",
            "control calls that change state need 'Content-Type: application/json' (a cross-site "
            "form cannot send it)",
        )


def check_proxy_origin(origin: str | None, host: str | None) -> None:
    """A proxy sends on only what a server, or its own page, sends: a web page on another site
    must not use it to reach the real service (servers send no ``Origin``)."""
    if origin is not None and not _same_origin(origin, host):
        raise ApiError.one(
            403,
            "Origin",
            f"a request from a web page on another origin ({origin[:100]!r}) is not sent on by this proxy",
        )


def check_download(fetch_site: str | None, origin: str | None, host: str | None) -> None:
    """A download of recorded traffic starts from the fake's own page or from a tool, never
    from another site: a link or frame there would otherwise make the browser fetch production
    data and save it. Browsers say where a request comes from in ``Sec-Fetch-Site``; tools send
    none."""
    foreign = origin is not None and not _same_origin(origin, host)
    if foreign or (fetch_site or "").strip().lower() in ("cross-site", "same-site"):
        raise ApiError.one(
            403,
            "Sec-Fetch-Site",
            "a recording is downloaded from the dashboard or by a tool, not from a page on another site",
        )


def _same_origin(origin: str, host: str | None) -> bool:
    if origin == "null" or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()
