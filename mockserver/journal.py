"""The journal: every request to the ingestion paths, accepted or rejected, as a snapshot.

Bounded by entries and by body bytes; the oldest entries go first and are counted.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from pydantic_core import from_json

from mockserver.errors import MAX_LISTED, capped, count_listed

__all__ = ["Journal", "JournalEntry", "new_entry", "not_comparable"]


class JournalEntry(msgspec.Struct, frozen=True, gc=False):
    """One request and the fake's answer to it.

    A msgspec struct rather than a frozen dataclass: every request makes one, and a frozen
    dataclass sets each of its twenty fields through ``object.__setattr__``, which made it one
    of the larger costs of a one-event request. The collector never tracks an entry
    (``gc=False``): it holds only strings, numbers and containers of them, so it can never be
    part of a reference cycle. Build one with :func:`new_entry`, which caps its lists."""

    id: int
    time: str
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    #: the body as received (inflated when it was gzip), with the credentials the request
    #: presented masked in it; parsed only when read, which keeps a long journal small and out
    #: of the garbage collector's way
    raw: bytes
    status: int
    errors: list[dict[str, str]] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)
    faulted: bool = False
    project_id: str | None = None
    #: how many items the body carried (events, profiles, devices, user ids), if countable
    items: int | None = None
    #: proxy mode: the request was judged here and sent on; ``status``, ``errors`` and
    #: ``warnings`` are the fake's verdict, these two what the upstream did
    proxied: bool = False
    #: the upstream's status; None when it was not sent on or no answer came
    upstream_status: int | None = None
    #: why there is no upstream status, in words (a timeout, a refused connection, --enforce)
    upstream_error: str | None = None
    #: the upstream's answer, as text (cut short), for when it refused what the fake accepted
    upstream_body: str | None = None
    #: the upstream's answer headers (hop-by-hop ones left out), as sent
    upstream_headers: tuple[tuple[str, str], ...] = ()
    #: how long the upstream took to answer, in milliseconds
    elapsed_ms: float | None = None
    #: this request's credentials as shown here where a mask keeps a prefix (``test****``):
    #: a recording, meant to be committed, hides them whole (never a credential itself)
    masks: tuple[str, ...] = ()

    @property
    def agrees(self) -> bool | None:
        """Proxy mode: whether the fake and the upstream both accepted (2xx) or both refused
        (4xx); None when there is nothing to compare (see :attr:`not_compared`)."""
        if self.not_compared is not None:
            return None
        assert self.upstream_status is not None
        return (200 <= self.status < 300) == (200 <= self.upstream_status < 300)

    @property
    def not_compared(self) -> str | None:
        """Proxy mode: why the two verdicts cannot be compared, in words; None when they can."""
        if not self.proxied:
            return "not proxied"
        if self.upstream_status is None:
            return self.upstream_error or "no answer from the upstream"
        return not_comparable(self.upstream_status)

    @property
    def json(self) -> Any:
        """The body as data, or None when it is not plain, finite JSON. Parsed on every read
        and never kept: a read must not grow the journal by a parsed copy of every body."""
        return parse_json(self.raw)

    @property
    def body(self) -> str | None:
        """The body as text (truncated) when it is not JSON, for a human to read."""
        return self._text(self.json)

    def _text(self, parsed: Any) -> str | None:
        if not self.raw or parsed is not None:
            return None
        return self.raw[:_MAX_TEXT].decode("utf-8", "replace")

    def summary(self) -> dict[str, Any]:
        """The entry without headers and body (and so without parsing it), for listings."""
        summary = {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "errors": self.errors[:3],
            "error_count": count_listed(self.errors),
            "warnings": self.warnings[:3],
            "warning_count": count_listed(self.warnings),
            "faulted": self.faulted,
            "project_id": self.project_id,
            "items": self.items,
            "size": len(self.raw),
        }
        if self.proxied:
            summary["upstream_status"] = self.upstream_status
            summary["upstream_error"] = self.upstream_error
            summary["agree"] = self.agrees
            summary["not_compared"] = self.not_compared
        return summary

    def as_dict(self) -> dict[str, Any]:
        """The whole entry: the summary, with every error and warning, headers and body."""
        parsed = self.json
        return {
            **self.summary(),
            "headers": self.headers,
            "json": parsed,
            "body": self._text(parsed),
            "errors": self.errors,
            "warnings": self.warnings,
            **({"upstream_body": self.upstream_body} if self.proxied else {}),
        }


_MAX_TEXT = 4096


def new_entry(id: int, time: str, fields: Mapping[str, Any]) -> JournalEntry:
    """The entry ``id`` made at ``time`` of ``fields`` (the rest of :class:`JournalEntry`'s).
    However many a body holds, an entry lists the first errors and warnings and counts the
    rest, so that it costs the journal's byte budget what its body costs."""
    errors, warnings = fields.get("errors"), fields.get("warnings")
    if errors and len(errors) > MAX_LISTED:
        fields = {**fields, "errors": capped(errors, lambda more: {"field": "errors", "reason": more})}
    if warnings and len(warnings) > MAX_LISTED:
        fields = {**fields, "warnings": capped(warnings, lambda more: more)}
    return JournalEntry(id=id, time=time, **fields)


def not_comparable(status: int) -> str | None:
    """Why an upstream answer of ``status`` says nothing about whether the request's content is
    right (None when it does: a 2xx accepts it, most 4xx refuse it)."""
    if status in (401, 403):
        return f"upstream {status}: the credentials are the upstream's to judge"
    if status in (408, 429):
        return f"upstream {status}: a timeout or rate limit says nothing about the content"
    if 500 <= status < 600:
        return f"upstream {status}: a server error says nothing about the content"
    if not (200 <= status < 300 or 400 <= status < 500):
        return f"upstream {status}: neither an acceptance nor a refusal"
    return None


#: what an entry costs the journal's byte budget beyond its body: headers, fields, the object
_ENTRY_OVERHEAD = 512
#: what one listed error or warning costs beyond its text: its dict or string object
_ITEM_OVERHEAD = 120


def _cost(entry: JournalEntry) -> int:
    listed = 0
    if entry.errors or entry.warnings:  # most entries list neither
        listed = sum(len(e["field"]) + len(e["reason"]) for e in entry.errors) + sum(map(len, entry.warnings))
    headers = sum(len(k) + len(v) for k, v in entry.upstream_headers) if entry.upstream_headers else 0
    return (
        len(entry.raw)
        + headers
        + _ENTRY_OVERHEAD
        + len(entry.upstream_body or "")
        + listed
        + _ITEM_OVERHEAD * (len(entry.errors) + len(entry.warnings))
    )


def _project_of(entry: JournalEntry) -> Any:
    return entry.project_id if entry.project_id is not None else entry.query.get("project_id")


#: what a number must hold to overflow a float: an exponent, or hundreds of digits
_MAY_OVERFLOW = re.compile(rb"[0-9][eE]|[0-9]{300}")
#: the longest text a match of it spans
_OVERFLOW_SPAN = 300
#: Bytes searched in one call. A search holds the GIL throughout, and runs at about 50 MB/s:
#: over a body near the size limit in one call, it held every other request (and the event
#: loop) for a quarter of a second. In windows, each call takes a few milliseconds.
_WINDOW = 256 << 10


def _may_overflow(raw: bytes) -> bool:
    # Windows overlap by a match's span less one, so a match across a boundary is still found.
    for start in range(0, len(raw), _WINDOW):
        if _MAY_OVERFLOW.search(raw, start, start + _WINDOW + _OVERFLOW_SPAN - 1):
            return True
    return False


def _all_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def parse_json(raw: bytes) -> Any:
    """``raw`` as data when it is plain, finite JSON (so it can be sent on as JSON); else None.

    Read by the parser the validator uses (pydantic-core's), so the journal holds nothing the
    validator would not read: Python's own ``json`` takes a lone surrogate escape (``"\\ud800"``)
    into a string no UTF-8 encoder can write, and a listing of the journal would die on it."""
    if not raw:
        return None
    try:
        value = from_json(raw, allow_inf_nan=False)
    except ValueError:
        return None
    return _finite(raw, value)


#: Items parsed in one call by :func:`parse_split`: a few milliseconds' work each.
_PIECE_ITEMS = 5_000


def parse_split(raw: bytes, key: str, members: Mapping[str, Any], items: Sequence[Any]) -> Any:
    """:func:`parse_json` of ``raw``, already split into its ``members`` (each one's text, as
    bytes or any buffer) and the texts of the ``items`` listed under ``key``: the same value,
    read a few thousand items at a time. In one call, the parser holds the GIL for the whole
    text, a tenth of a second near the size limit, and every other request waits."""
    value: dict[str, Any] = {}
    try:
        for name, member in members.items():
            if name != key:
                value[name] = from_json(bytes(member), allow_inf_nan=False)
                continue
            listed: list[Any] = []
            for start in range(0, len(items), _PIECE_ITEMS):
                piece = b"[" + b",".join(items[start : start + _PIECE_ITEMS]) + b"]"
                listed += from_json(piece, allow_inf_nan=False)
            value[name] = listed
    except ValueError:
        return None
    return _finite(raw, value)


def _finite(raw: bytes, value: Any) -> Any:
    """``value``, read from ``raw``, unless a number in it overflowed to infinity."""
    return None if _may_overflow(raw) and not _all_finite(value) else value


class Journal:
    """A bounded, ordered record. Not locked itself: the backend's lock guards it."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: deque[JournalEntry] = deque()
        #: each entry's cost, in step with ``_entries``: worked out once, not again as it leaves
        self._costs: deque[int] = deque()
        self._bytes = 0
        self._next_id = 1
        self.dropped = 0

    def next_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def append(self, entry: JournalEntry) -> None:
        cost = _cost(entry)
        self._entries.append(entry)
        self._costs.append(cost)
        self._bytes += cost
        while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            self._entries.popleft()
            self._bytes -= self._costs.popleft()
            self.dropped += 1

    def entries(
        self, limit: int | None = None, after: int | None = None, project_id: str | None = None
    ) -> list[JournalEntry]:
        """Oldest first: those with an id above ``after`` (and of ``project_id``), the newest
        ``limit`` of them."""
        items = list(self._entries)
        if after is not None:
            items = [e for e in items if e.id > after]
        if project_id is not None:
            items = [e for e in items if _project_of(e) == project_id]
        return items if limit is None else items[-limit:] if limit > 0 else []

    def remove_project(self, project_id: str) -> None:
        """Forget the entries of one project (by its ``project_id`` query value)."""
        pairs = zip(self._entries, self._costs, strict=True)
        kept = [(e, c) for e, c in pairs if _project_of(e) != project_id]
        self._entries = deque(e for e, _ in kept)
        self._costs = deque(c for _, c in kept)
        self._bytes = sum(self._costs)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        self._entries.clear()
        self._costs.clear()
        self._bytes = 0
        self._next_id = 1
        self.dropped = 0
