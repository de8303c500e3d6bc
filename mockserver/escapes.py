"""Whether a body holds an escape that may spell an ASCII character, found once per body.

Two checks look for such escapes: the events fast path (one may spell a control character or
a colon, which it leaves to the full validator) and the journal's masking (one may spell a
credential's character). Korean and other text, which most JSON encoders escape
(``\\uc154``), holds none, yet each check took a scan of the whole body: 0.13-0.18 ms each on a
300 KB body. One scan for the union now answers both for such a body, and only a body that
holds one is scanned again, by each check for its own.
"""

from __future__ import annotations

import re

__all__ = ["may_spell_ascii"]

#: an escape that may spell a character of Latin-1 (``\\u00..``), a slash, a backspace or a
#: form feed: every escape either check looks for is one of these
_ASCII_ESCAPE = re.compile(rb"\\(?:u00|[/bf])")

#: the last body asked about, and the answer: both checks ask about the same body object, one
#: after the other (a request's body stays referenced until it is answered, so its identity
#: cannot pass to another body meanwhile)
_last: tuple[bytes, bool] | None = None


def may_spell_ascii(raw: bytes) -> bool:
    """False when ``raw`` certainly holds no escape spelling a Latin-1 character, a slash, a
    backspace or a form feed. A memchr decides most bodies: they hold no backslash."""
    global _last
    if raw.find(b"\\") < 0:  # find: see mockserver.bytesearch.occurs
        return False
    last = _last
    if last is not None and last[0] is raw:
        return last[1]
    found = _ASCII_ESCAPE.search(raw) is not None
    _last = (raw, found)
    return found
