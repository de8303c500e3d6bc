"""'Did you mean ...?' for a misspelt name: a reserved property, an item key, a setting.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def _words(name: str) -> set[str]:
    return set(re.split(r"[_\W]+", name.lower())) - {"", "mkt"}


def closest(name: str, candidates: Iterable[str]) -> list[str]:
    """The one or two names ``name`` most likely meant, best first; none if nothing is near.

    A candidate that holds every word of ``name`` comes first, in the candidates' order
    (``mkt_price``: ``mkt_product_price``, then ``mkt_option_price``); else the closest by
    spelling (``mkt_qty``: ``mkt_quantity``), with a second only if it is as close."""
    pool = list(dict.fromkeys(candidates))
    words = _words(name)
    if words:
        holding = [c for c in pool if words <= _words(c) and c != name]
        if holding:
            return holding[:2]
    scored = sorted(
        ((difflib.SequenceMatcher(None, name.lower(), c.lower()).ratio(), c) for c in pool if c != name),
        key=lambda pair: -pair[0],
    )
    scored = [(score, c) for score, c in scored if score >= 0.6]
    if not scored:
        return []
    best = scored[0][0]
    return [c for score, c in scored[:2] if best - score <= 0.05]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean mkt_quantity?)``, or an empty string when nothing is near."""
    found = closest(name, candidates)
    return f" (did you mean {' or '.join(found)}?)" if found else ""
