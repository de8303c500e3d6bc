"""Duplicate keys in a JSON object: accepted, the last occurrence wins (as common parsers do),
and each one named in a warning.

Finding them must not cost the accepted path a second parse. The decoded value is encoded
again (C speed) and the colons of both texts are counted: a key given twice leaves its colon
(and any in its dropped value) behind, so the original has more. Colons inside strings appear
in both alike. Only when the counts differ (a duplicate, a colon spelt ``\\u003a``, or a field
given as null that a typed decoder folds into its default) is the text parsed again to name
the keys.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

__all__ = ["duplicate_keys", "may_have_duplicates"]


def may_have_duplicates(raw: bytes, decoded: Any, *, extra_colons: int = 0) -> bool:
    """False when ``raw`` certainly has no duplicate key: its colons are those of ``decoded``
    encoded again (plus ``extra_colons`` the caller's decoding leaves out)."""
    return raw.count(b":") != msgspec.json.encode(decoded).count(b":") + extra_colons


class _Object(dict[str, Any]):
    """A decoded object that remembers which of its keys were given more than once."""

    twice: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    obj.twice = []
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen and key not in obj.twice:
                obj.twice.append(key)
            seen.add(key)
    return obj


def duplicate_keys(raw: bytes) -> list[str]:
    """``events[0].name`` for each key given more than once, in document order."""
    try:
        tree = json.loads(raw, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return []
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", tree)]
    while stack:
        path, value = stack.pop()
        children: list[tuple[str, Any]] = []
        if isinstance(value, _Object):
            found += [f"{path}.{k}" if path else k for k in value.twice]
            children = [(f"{path}.{k}" if path else k, v) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        stack += reversed(children)
    return found
