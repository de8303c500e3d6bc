"""The running parity account of proxy mode: on how many requests the fake's verdict and the
upstream's answer agreed, and the requests where they did not.

Agreement is :attr:`JournalEntry.agrees`: both accepted or both refused; what cannot be compared
is only counted. Plain Python; the backend's lock guards it.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from mockserver.journal import JournalEntry

__all__ = ["Parity"]


class Parity:
    """Counts per project (a reset of one project forgets its share) and the latest
    ``max_listed`` disagreements."""

    def __init__(self, max_listed: int = 1000) -> None:
        self._counts: dict[str | None, list[int]] = {}  # project -> [compared, agreed, not compared]
        self._reasons: dict[str | None, Counter[str]] = {}  # project -> why not compared -> count
        self._disagree: deque[dict[str, Any]] = deque(maxlen=max_listed)

    def record(self, entry: JournalEntry) -> None:
        if not entry.proxied:
            return
        counts = self._counts.setdefault(entry.project_id, [0, 0, 0])
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
        return {
            "requests": sum(c[0] for c in self._counts.values()),
            "agree": sum(c[1] for c in self._counts.values()),
            "disagree": list(self._disagree),
            "not_compared": sum(c[2] for c in self._counts.values()),
            "not_compared_reasons": dict(sum(self._reasons.values(), Counter()).most_common()),
        }

    def forget(self, project_id: str | None = None) -> None:
        """Everything, or one project's share."""
        if project_id is None:
            self._counts.clear()
            self._reasons.clear()
            self._disagree.clear()
            return
        self._counts.pop(project_id, None)
        self._reasons.pop(project_id, None)
        kept = [d for d in self._disagree if d["project_id"] != project_id]
        self._disagree.clear()
        self._disagree.extend(kept)
