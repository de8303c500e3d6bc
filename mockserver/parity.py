"""The running parity account of proxy mode: on how many requests the fake's verdict and the
upstream's answer agreed, and the requests where they did not.

Agreement is :attr:`JournalEntry.agrees`: both accepted or both refused; what cannot be compared
is only counted. Plain Python; the backend's lock guards it.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from typing import Any

from mockserver.journal import JournalEntry

__all__ = ["MAX_PROJECTS", "Parity"]

#: projects whose counts are kept apart; past it, the counts of the project least recently sent
#: to join one shared account, so that a client sending ever new project ids cannot grow the
#: fake (the totals stay; a reset of such a project no longer takes its share away)
MAX_PROJECTS = 1000


class Parity:
    """Counts per project (a reset of one project forgets its share) and the latest
    ``max_listed`` disagreements."""

    def __init__(self, max_listed: int = 1000) -> None:
        # project -> [compared, agreed, not compared], least recently sent first
        self._counts: OrderedDict[str | None, list[int]] = OrderedDict()
        self._reasons: dict[str | None, Counter[str]] = {}  # project -> why not compared -> count
        # the counts and reasons of projects no longer kept apart (see MAX_PROJECTS)
        self._joined = [0, 0, 0]
        self._joined_reasons: Counter[str] = Counter()
        self._disagree: deque[dict[str, Any]] = deque(maxlen=max_listed)

    def record(self, entry: JournalEntry) -> None:
        if not entry.proxied:
            return
        counts = self._counts.setdefault(entry.project_id, [0, 0, 0])
        self._counts.move_to_end(entry.project_id)
        while len(self._counts) > MAX_PROJECTS:
            oldest, joined = self._counts.popitem(last=False)
            self._joined = [a + b for a, b in zip(self._joined, joined, strict=True)]
            self._joined_reasons.update(self._reasons.pop(oldest, Counter()))
        verdict = entry.agrees
        if verdict is None:
            counts[2] += 1
            self._reasons.setdefault(entry.project_id, Counter())[entry.not_compared or "?"] += 1
            return
        counts[0] += 1
        if verdict:
            counts[1] += 1
            return
        self._disagree.append(
            {
                "index": entry.id,
                "path": entry.path,
                "project_id": entry.project_id,
                "status": entry.status,
                "upstream_status": entry.upstream_status,
                "upstream_body": entry.upstream_body,
                "errors": entry.errors,
                "warnings": entry.warnings,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        every = [self._joined, *self._counts.values()]
        return {
            "requests": sum(c[0] for c in every),
            "agree": sum(c[1] for c in every),
            "disagree": list(self._disagree),
            "not_compared": sum(c[2] for c in every),
            "not_compared_reasons": dict(
                sum(self._reasons.values(), Counter(self._joined_reasons)).most_common()
            ),
        }

    def __len__(self) -> int:
        """How many projects' counts are kept apart."""
        return len(self._counts)

    def forget(self, project_id: str | None = None) -> None:
        """Everything, or one project's share."""
        if project_id is None:
            self._counts.clear()
            self._reasons.clear()
            self._joined = [0, 0, 0]
            self._joined_reasons.clear()
            self._disagree.clear()
            return
        self._counts.pop(project_id, None)
        self._reasons.pop(project_id, None)
        kept = [d for d in self._disagree if d["project_id"] != project_id]
        self._disagree.clear()
        self._disagree.extend(kept)
