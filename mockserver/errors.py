"""Errors, in two families.

* ``ApiError``: the fake answering a request with a 4xx, as the vendor would. It carries the
  status, the vendor's message and the field-level detail; the HTTP layer renders it in the
  vendor's envelope in one place.
* ``ToolkitError``: the toolkit being misused (a bad setting, a helper called against a server
  without a control plane). Raised to the caller, never sent over the wire as a vendor answer.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mockserver import spec

_T = TypeVar("_T")

__all__ = ["MAX_LISTED", "ApiError", "FieldError", "SettingsError", "ToolkitError", "capped", "count_listed"]

#: errors (and warnings) listed per request; the rest are counted. An answer, a journal entry and
#: a dashboard row stay proportional to their cause: a 10 MiB body of bad items would otherwise
#: list hundreds of thousands.
MAX_LISTED = 100


@dataclass(frozen=True)
class FieldError:
    """One violation: a path into the request (``events[3].timestamp``, ``Authorization``) and why."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass
class ApiError(Exception):
    """A vendor-shaped 4xx answer."""

    status: int
    errors: list[FieldError] = field(default_factory=list)
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: the body's item count for the journal (``Endpoint.count_items``), when whoever refused
    #: the body had parsed it already: a body near the size limit is then not parsed again
    #: just to be counted. ``counted`` says whether ``items`` holds that count.
    items: int | None = field(default=None, compare=False)
    counted: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if not self.message:
            self.message = spec.MESSAGES.get(self.status, "Error.")
        self.errors = capped(self.errors, lambda more: FieldError("errors", more))
        super().__init__(self.status, self.message)

    def body(self) -> dict[str, Any]:
        """The envelope: the vendor's ``code``/``message``/``data`` plus the field detail."""
        return {
            "code": self.status,
            "message": self.message,
            "data": None,
            "errors": [e.as_dict() for e in self.errors],
        }

    @classmethod
    def one(cls, status: int, field_: str, reason: str, **kw: Any) -> ApiError:
        return cls(status, [FieldError(field_, reason)], **kw)


def capped(items: list[_T], more: Callable[[str], _T]) -> list[_T]:
    """The first :data:`MAX_LISTED` of ``items`` and, when there were more, one last item made
    by ``more`` from the words "…and N more, not listed"."""
    if len(items) <= MAX_LISTED:
        return items
    if len(items) == MAX_LISTED + 1 and _is_more(items[-1]):
        return items  # capped already
    return [*items[:MAX_LISTED], more(f"…and {len(items) - MAX_LISTED:,} more, not listed")]


def count_listed(items: list[Any]) -> int:
    """How many items a list made by :func:`capped` stood for: those listed and those counted."""
    if len(items) == MAX_LISTED + 1 and _is_more(items[-1]):
        last: Any = items[-1]
        reason = last.reason if isinstance(last, FieldError) else last
        reason = reason.get("reason") if isinstance(reason, dict) else reason
        return MAX_LISTED + int(str(reason).removeprefix("…and ").split(" ", 1)[0].replace(",", ""))
    return len(items)


def _is_more(item: Any) -> bool:
    reason: Any = item
    if isinstance(item, FieldError):
        reason = item.reason
    elif isinstance(item, dict):
        reason = item.get("reason")
    return isinstance(reason, str) and reason.startswith("…and ") and reason.endswith(" more, not listed")


class ToolkitError(Exception):
    """The toolkit was misused; the message says how to fix the call."""


class SettingsError(ToolkitError, ValueError):
    """A setting has an unknown name or a value of the wrong kind."""
