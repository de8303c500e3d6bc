"""The case types invalid strategies draw: a body or a request with one labelled defect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["InvalidCase", "InvalidRequest", "RawBody"]


class RawBody:
    """The ``body`` of a case whose defect only bytes can carry (not JSON, not UTF-8, truncated,
    or the JSON ``null``, which ``requests.post(json=None)`` and ``httpx.post(json=None)``
    would send as no body at all). No JSON encoder takes it, so ``json=case.body`` fails loudly
    instead of sending something else: send ``case.content()``."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"RawBody({self.raw[:40]!r}): send case.content(), not json=case.body"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawBody) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


@dataclass(frozen=True)
class InvalidCase:
    """A body that breaks exactly one rule: the fake answers ``status`` naming ``field``.

    Send ``content()``: the exact bytes. ``body`` is the JSON value, or a :class:`RawBody` when
    the defect cannot be a JSON value a client's ``json=`` would send as it is."""

    body: Any
    field: str
    reason: str
    status: int = 400
    #: the bytes to send, when the defect cannot be written as a JSON value
    raw: bytes | None = None

    def content(self) -> bytes:
        """The request body as sent."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode()

    def __str__(self) -> str:
        return f"{self.field}: {self.reason} (expect {self.status})"


@dataclass(frozen=True)
class InvalidRequest:
    """A request with one defect in its method, headers or query; its body is valid."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    field: str
    reason: str
    status: int

    def content(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode()

    def __str__(self) -> str:
        return f"{self.field}: {self.reason} (expect {self.status})"


def _case(body: Any, field: str, reason: str, status: int = 400, raw: bytes | None = None) -> InvalidCase:
    if raw is None and body is None:  # json=None sends no body: the bytes must go as they are
        raw = b"null"
    if raw is not None:
        body = RawBody(raw)
    return InvalidCase(body=body, field=field, reason=reason, status=status, raw=raw)
