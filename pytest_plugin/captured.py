"""What a test reads back from the fake: captured requests and deletion jobs, as plain data.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CapturedRequest", "DeletionJob"]


@dataclass(frozen=True)
class CapturedRequest:
    """One request the fake received, accepted or rejected, with its answer."""

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
    body: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 202

    @property
    def rejected(self) -> bool:
        return 400 <= self.status < 500

    def describe(self) -> str:
        """``POST /v1/api/events -> 400: events[3].timestamp: not an ISO 8601 ... (+1 more)``."""
        text = f"{self.method} {self.path} -> {self.status}"
        if self.errors:
            first = self.errors[0]
            text += f": {first['field']}: {first['reason']}"
            if len(self.errors) > 1:
                text += f" (+{len(self.errors) - 1} more)"
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CapturedRequest:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class DeletionJob:
    """A deletion job the fake recorded for a deletion request."""

    id: str
    user_ids: list[str]
    status: str
    requested_at: str
    completed_at: str | None = None
    removed: dict[str, int] | None = None
    project_id: str | None = None
    due_at: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeletionJob:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})
