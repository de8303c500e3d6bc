"""Recordings: exchanges (a request, the fake's verdict, the upstream's answer) kept in a file,
to be replayed against a fake later and turned into regression tests.

The format is JSON Lines, UTF-8. The first line names the format and its version::

    {"format": "marketap-mock-recording", "version": 1, "created": "...", "source": "proxy", ...}

and every other line is one exchange (see :func:`exchange_line`). Plain Python, no Flask: the
proxy's recorder, ``GET /_mock/recording``, ``marketap-mock replay`` and the contract suite all
read and write through this module. A credential never reaches a recording: every header and
query parameter that carries one is masked by :mod:`mockserver.secrets` with no prefix at all,
and so is what the body or the upstream's answer held of it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

import msgspec

from mockserver.clock import iso
from mockserver.journal import JournalEntry, not_comparable
from mockserver.secrets import MASK, hide_prefixes, is_secret_name, redact_headers, redact_query

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT",
    "VERSION",
    "Exchange",
    "Recorder",
    "Recording",
    "RecordingError",
    "console_warning",
    "exchange_line",
    "export_lines",
    "header_line",
    "parse_recording",
    "read_recording",
]

FORMAT = "marketap-mock-recording"
VERSION = 1

#: where ``--record`` stops by default: a day of staging traffic, not a full disk
DEFAULT_MAX_BYTES = 256 << 20

#: how many of the upstream's answer headers are kept, and how much of each
_MAX_UPSTREAM_HEADERS = 64
_MAX_HEADER_VALUE = 1024

#: headers the fake's verdict depends on, never searched for echoed credentials
_JUDGED_HEADERS = frozenset({"content-type", "content-encoding"})


class RecordingError(ValueError):
    """A file that is not a recording this version can read: names the line and what is wrong."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(f"{source}, line {line}: {reason}")


# --- writing ---------------------------------------------------------------------------------


def header_line(*, source: str, upstream: str | None = None) -> str:
    """The first line of a recording."""
    from mockserver import __version__

    return _dumps(
        {
            "format": FORMAT,
            "version": VERSION,
            "created": iso(_now()),
            "source": source,
            "upstream": upstream,
            "written_by": f"marketap-mock {__version__}",
        }
    )


def _now() -> float:
    import time

    return time.time()


def _pairs(query: Mapping[str, Any]) -> list[list[str]]:
    out = []
    for name, value in query.items():
        for one in value if isinstance(value, list) else [value]:
            out.append([str(name), str(one)])
    return out


def exchange_line(entry: JournalEntry) -> str:
    """One exchange as a line of a recording (no newline), credentials hidden:

    ``time``, ``method``, ``path``, ``query`` (name-value pairs, in order), ``headers`` (lower-case
    names), ``body`` (text; ``body_base64`` instead when it is not UTF-8; a gzip body as the fake
    inflated it), ``fake`` (``status``, ``errors``, ``warnings``: the verdict when recorded),
    ``upstream`` (``status``, ``error``, ``headers``, ``body`` cut short; null when the request
    was never proxied), ``elapsed_ms`` (the upstream's time to answer) and ``faulted``.
    """

    # The journal shows a credential by its first characters at most; a recording, meant to be
    # committed, shows none: every credential is masked again with no prefix, and what the
    # journal masked elsewhere (an echo, the body) loses its prefix.
    def hide(text: str) -> str:
        return hide_prefixes(text, entry.masks)

    query = redact_query([(k, hide(v)) for k, v in _pairs(entry.query)], prefix=False)
    headers = redact_headers({k: hide(v) for k, v in entry.headers.items()}, prefix=False)
    line: dict[str, Any] = {
        "time": entry.time,
        "method": entry.method,
        "path": entry.path,
        "query": [list(pair) for pair in query],
        "headers": headers,
    }
    # The body is written as sent, but for the credentials the journal masked in it.
    raw = entry.raw
    for mask in entry.masks:
        raw = raw.replace(mask.encode(), MASK.encode())
    try:
        line["body"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        line["body_base64"] = base64.b64encode(raw).decode("ascii")
    errors = [
        _hide_quoted(e)
        if is_secret_name(str(e.get("field", "")))
        else {**e, "reason": hide(str(e.get("reason", "")))}
        for e in entry.errors
    ]
    line["fake"] = {"status": entry.status, "errors": errors, "warnings": [hide(w) for w in entry.warnings]}
    upstream_headers = [
        pair
        for k, v in entry.upstream_headers[:_MAX_UPSTREAM_HEADERS]
        for pair in redact_headers({k: hide(v[:_MAX_HEADER_VALUE])}, prefix=False).items()
    ]
    line["upstream"] = (
        {
            "status": entry.upstream_status,
            "error": hide(entry.upstream_error) if entry.upstream_error else None,
            "headers": [list(pair) for pair in upstream_headers],
            "body": hide(entry.upstream_body) if entry.upstream_body is not None else None,
        }
        if entry.proxied
        else None
    )
    line["elapsed_ms"] = entry.elapsed_ms
    line["faulted"] = entry.faulted
    return _dumps(line)


def _hide_quoted(error: dict[str, Any]) -> dict[str, Any]:
    """An error about a credential with whatever its reason quotes hidden: a reason may quote
    the malformed value it refuses, and the recording has no other way to know the secret."""
    reason = _QUOTED.sub("'****'", str(error.get("reason", "")))
    return {**error, "reason": reason}


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _dumps(data: Any) -> str:
    # msgspec writes a 316 KB body's line in a quarter of json.dumps' time, which was most of
    # what recording added to a request. It cannot write a lone surrogate (a value quoted in the
    # error about a refused body may hold one): such a line is written with every character
    # outside ASCII escaped, which any JSON reader takes back the same.
    try:
        return _ENCODER.encode(data).decode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"))


_ENCODER = msgspec.json.Encoder()


def export_lines(entries: Iterable[JournalEntry], *, upstream: str | None = None) -> Iterator[str]:
    """A whole recording of ``entries`` (the journal's export), line by line, newline included."""
    yield header_line(source="proxy" if upstream else "fake", upstream=upstream) + "\n"
    for entry in entries:
        yield exchange_line(entry) + "\n"


def console_warning(stream: TextIO) -> Callable[[str], None]:
    """A ``warn`` for :class:`Recorder` that prints ``WARNING: ...`` lines to ``stream``."""

    def warn(message: str) -> None:
        stream.write(f"WARNING: {message}\n")
        stream.flush()

    return warn


class Recorder:
    """Appends each journal entry to ``path`` as it is recorded (a journal listener). Each line
    is flushed as written, so a killed proxy loses at most the line in flight. Past ``max_bytes``
    (the file's whole size) it stops and says so once through ``warn``; a write that fails stops
    it too. An existing file is appended to when it is a recording of this version."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        upstream: str | None = None,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        if max_bytes < 1024:
            raise ValueError(f"the recording's size limit must be at least 1024 bytes, not {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.warn = warn
        self.stopped: str | None = None
        self._lock = threading.Lock()
        size = self.path.stat().st_size if self.path.exists() else 0
        if size:
            with self.path.open("r+b") as existing:
                _read_header(str(self.path), existing.readline())
                size = _drop_partial_line(existing, size)
        self._file: IO[bytes] = self.path.open("ab")
        self._size = size
        if not size:
            self._write(header_line(source="proxy" if upstream else "fake", upstream=upstream) + "\n")

    def __call__(self, entry: JournalEntry) -> None:
        if self.stopped is not None:
            return
        self._write(exchange_line(entry) + "\n")

    def _write(self, line: str) -> None:
        data = line.encode()
        with self._lock:
            if self.stopped is not None:
                return
            if self._size + len(data) > self.max_bytes:
                self._stop(
                    f"recording stopped: {self.path} would pass {self.max_bytes} bytes "
                    "(--record-max-bytes); later exchanges are not recorded"
                )
                return
            try:
                self._file.write(data)
                self._file.flush()
            except OSError as exc:
                self._stop(f"recording stopped: cannot write {self.path}: {exc.strerror or exc}")
                return
            self._size += len(data)

    def _stop(self, message: str) -> None:
        self.stopped = message
        self.warn(message)

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _drop_partial_line(handle: IO[bytes], size: int) -> int:
    """Cut a last line left without its newline (a proxy killed mid-write), so what is
    appended starts on a line of its own; the file's new size."""
    end = size
    while end > 0:
        start = max(0, end - 65536)
        handle.seek(start)
        chunk = handle.read(end - start)
        if end == size and chunk.endswith(b"\n"):
            return size
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            handle.truncate(start + cut + 1)
            return start + cut + 1
        end = start
    return size


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One recorded exchange. ``index`` counts exchanges from 1 in file order; ``line`` is its
    line in the file."""

    index: int
    line: int
    time: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes
    status: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: False when the request was never sent on (a plain fake's export)
    proxied: bool = False
    upstream_status: int | None = None
    upstream_error: str | None = None
    upstream_headers: tuple[tuple[str, str], ...] = ()
    upstream_body: str | None = None
    elapsed_ms: float | None = None
    faulted: bool = False

    @property
    def expected(self) -> int | None:
        """The status today's fake is held to: the upstream's, or for an exchange never proxied,
        the fake's own when recorded (a regression between releases)."""
        return self.upstream_status if self.proxied else self.status

    @property
    def not_compared(self) -> str | None:
        """Why there is nothing to hold today's fake to, in words; None when there is."""
        if self.faulted:
            return "a fault rule answered it"
        if self.proxied and self.upstream_status is None:
            return self.upstream_error or "no answer from the upstream"
        assert self.expected is not None
        reason = not_comparable(self.expected)
        if reason is not None and not self.proxied:
            reason = reason.replace("upstream", "recorded", 1)
        return reason

    @property
    def name(self) -> str:
        """``3-POST-/v1/api/events-upstream-400``: index, method, path and the expected status."""
        who = "upstream" if self.proxied else "recorded"
        expected = self.expected if self.expected is not None else "none"
        return f"{self.index}-{self.method}-{self.path}-{who}-{expected}"


@dataclass(frozen=True)
class Recording:
    header: dict[str, Any]
    exchanges: list[Exchange]


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read and check a whole recording; raises :class:`RecordingError` naming the first bad
    line (or OSError when it cannot be read)."""
    with open(path, "rb") as handle:
        return parse_recording(handle, source=str(path))


def parse_recording(lines: Iterable[bytes], *, source: str = "recording") -> Recording:
    """A recording from its lines (bytes, newlines included or not)."""
    iterator = iter(lines)
    first = next(iterator, b"")
    header = _read_header(source, first)
    exchanges: list[Exchange] = []
    number = 1
    for number, raw in enumerate(iterator, 2):
        if not raw.endswith(b"\n"):
            raise RecordingError(source, number, "truncated: the last line does not end with a newline")
        if not raw.strip():
            raise RecordingError(source, number, "an empty line")
        exchanges.append(_read_exchange(source, number, raw, len(exchanges) + 1))
    return Recording(header, exchanges)


def _read_header(source: str, raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise RecordingError(source, 1, f"empty: a recording starts with a {FORMAT} line")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise RecordingError(
            source, 1, f"not a recording: the first line is not JSON naming {FORMAT!r}"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(
            source, 1, f"not a recording: the first line does not name the format {FORMAT!r}"
        )
    version = header.get("version")
    if version != VERSION:
        raise RecordingError(
            source,
            1,
            f"format version {version!r} is not one this release reads (it reads version {VERSION})",
        )
    return header


class _Bad(Exception):
    pass


def _get(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
    if key not in data:
        if optional:
            return None
        raise _Bad(f"{key!r} is missing")
    value = data[key]
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _Bad(f"{key!r} must be {_TYPE_WORDS.get(names, names)}, not {json.dumps(value)[:60]}")
    return value


_TYPE_WORDS = {"str": "a string", "int": "a whole number", "dict": "an object", "list": "an array"}


#: what a replay can send: a method is a token, a path starts at the root, a header name is a
#: token, and no value holds a line break or a NUL (RFC 9110 §5.1, §5.5, §9.1)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FORBIDDEN = re.compile(r"[\r\n\x00]")


def _sendable(text: str, what: str) -> str:
    # A lone surrogate (JSON's "\ud800") cannot be sent as UTF-8: refuse it here, naming the line.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad(f"{what} holds a lone surrogate, which no request can carry") from None
    if _FORBIDDEN.search(text):
        raise _Bad(f"{what} holds a line break or a NUL, which no request can carry")
    return text


def _status(value: Any, key: str) -> Any:
    if value is not None and not 100 <= value <= 599:
        raise _Bad(f"{key!r} must be an HTTP status (100 to 599), not {value}")
    return value


def _pairs_of(value: Any, key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
    ):
        raise _Bad(f"{key!r} must be an array of [name, value] string pairs")
    return tuple((p[0], p[1]) for p in value)


def _read_exchange(source: str, number: int, raw: bytes, index: int) -> Exchange:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RecordingError(source, number, f"not JSON ({exc}); the file is corrupt or cut short") from None
    if not isinstance(data, dict):
        raise RecordingError(source, number, "an exchange must be a JSON object")
    try:
        headers = _get(data, "headers", dict)
        if not all(isinstance(v, str) for v in headers.values()):
            raise _Bad("'headers' must map names to strings")
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name):
                raise _Bad(f"header name {json.dumps(name)[:60]} is not one a request can carry")
            _sendable(value, f"header {name!r}")
        method = _get(data, "method", str)
        if not _TOKEN.fullmatch(method):
            raise _Bad(f"'method' must be an HTTP method, not {json.dumps(method)[:60]}")
        path = _sendable(_get(data, "path", str), "'path'")
        if not path.startswith("/") or path.startswith("//") or " " in path:
            raise _Bad(
                f"'path' must be a path on the server, starting with one /, not {json.dumps(path)[:60]}"
            )
        query = _pairs_of(_get(data, "query", list), "query")
        for name, value in query:
            _sendable(name + value, "'query'")
        if "body_base64" in data:
            try:
                body = base64.b64decode(_get(data, "body_base64", str), validate=True)
            except ValueError:
                raise _Bad("'body_base64' is not base64") from None
        else:
            body = _get(data, "body", str).encode("utf-8", "surrogatepass")
        fake = _get(data, "fake", dict)
        upstream = _get(data, "upstream", dict, optional=True)
        elapsed = _get(data, "elapsed_ms", (int, float), optional=True)
        return Exchange(
            index=index,
            line=number,
            time=_get(data, "time", str),
            method=method,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            status=_status(_get(fake, "status", int), "status"),
            errors=_get(fake, "errors", list, optional=True) or [],
            warnings=_get(fake, "warnings", list, optional=True) or [],
            proxied=upstream is not None,
            upstream_status=_status(_get(upstream, "status", int, optional=True), "upstream.status")
            if upstream
            else None,
            upstream_error=_get(upstream, "error", str, optional=True) if upstream else None,
            upstream_headers=_pairs_of(upstream.get("headers", []), "upstream.headers") if upstream else (),
            upstream_body=_get(upstream, "body", str, optional=True) if upstream else None,
            elapsed_ms=float(elapsed) if elapsed is not None else None,
            faulted=bool(data.get("faulted", False)),
        )
    except _Bad as bad:
        raise RecordingError(source, number, str(bad)) from None
