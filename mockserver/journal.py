"""The journal: every request to the ingestion paths, accepted or rejected, as a snapshot.

Bounded by entries and by body bytes; the oldest entries go first and are counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Journal", "JournalEntry"]


@dataclass(frozen=True)
class JournalEntry:
    """One request and the fake's answer to it."""

    id: int
    time: str
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    json: Any
    status: int
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    faulted: bool = False
    project_id: str | None = None
    #: the raw body as text, kept only when it is not JSON (truncated)
    body: str | None = None
    #: how many items the body carried (events, profiles, devices, user ids), if countable
    items: int | None = None
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "json": self.json,
            "body": self.body,
            "status": self.status,
            "errors": self.errors,
            "warnings": self.warnings,
            "faulted": self.faulted,
            "project_id": self.project_id,
            "items": self.items,
        }


class Journal:
    """A bounded, ordered record. Not locked itself: the backend's lock guards it."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: deque[JournalEntry] = deque()
        self._bytes = 0
        self._next_id = 1
        self.dropped = 0

    def next_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def append(self, entry: JournalEntry) -> None:
        self._entries.append(entry)
        self._bytes += entry.size
        while self._entries and (
            len(self._entries) > self.max_entries or self._bytes > self.max_bytes
        ):
            old = self._entries.popleft()
            self._bytes -= old.size
            self.dropped += 1

    def entries(self, limit: int | None = None) -> list[JournalEntry]:
        items = list(self._entries)
        return items if limit is None else items[-limit:] if limit > 0 else []

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self.dropped = 0
