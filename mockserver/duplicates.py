"""Duplicate keys in a JSON object: accepted, the last occurrence wins (as common parsers do),
and each one named in a warning.

Finding them must not cost the accepted path a second parse. The decoded value is encoded
again (C speed). A text that is that encoding byte for byte holds no duplicate (each object of
the value has each key once); otherwise the colons of both texts are counted: a key given twice
leaves its colon (and any in its dropped value) behind, so the original has more. Colons inside
strings appear in both alike; one spelt ``\\u003a`` in the original is a colon in the encoded
text, so it is counted as one, or a duplicate elsewhere could hide behind it. Only when the
counts differ (a duplicate, or a field given as null that a typed decoder folds into its
default) is the text parsed again to name the keys.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import msgspec

__all__ = ["ESCAPED_COLON", "duplicate_keys", "may_have_duplicates"]


#: a colon spelt as an escape (hex digits may be either case); after an escaped backslash the
#: match is no colon, which counts one too many: that only sends the text the long way
ESCAPED_COLON = re.compile(rb"\\u003[aA]")


def may_have_duplicates(raw: bytes, decoded: Any, *, escaped_colons: bool = True) -> bool:
    """False when ``raw`` certainly has no duplicate key: it is ``decoded`` encoded again, or
    its colons are those of that encoding. ``escaped_colons`` False says the caller made sure
    ``raw`` spells no colon as an escape."""
    encoded = _encoded(decoded)
    if encoded == raw:
        # Compact JSON as msgspec writes it (many clients send just that): one comparison
        # rather than two counts, half the cost of this check on a large body.
        return False
    colons = raw.count(b":")
    if escaped_colons and b"\\" in raw:
        colons += len(ESCAPED_COLON.findall(raw))
    return colons != encoded.count(b":")


_ENCODER = msgspec.json.Encoder()
#: each thread's buffer for the encoding, kept for its next check: writing into memory already
#: sized and warm spares a 1,000-event body's check a tenth of its time (no growing by steps, no
#: new bytes object). Dropped after a body larger than this, so that no thread keeps one.
_buffers = threading.local()
_KEPT_BUFFER = 1 << 20


def _encoded(decoded: Any) -> bytearray:
    buffer: bytearray | None = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = bytearray()
    _ENCODER.encode_into(decoded, buffer)
    _buffers.buffer = buffer if len(buffer) <= _KEPT_BUFFER else None
    return buffer


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
