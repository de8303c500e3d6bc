"""One line per request on the console of ``marketap-mock serve``, plain, coloured or JSON."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TextIO

from mockserver.journal import JournalEntry

__all__ = ["console_listener", "format_json", "format_line"]

_RESET = "\033[0m"
_COLOURS = {2: "\033[32m", 4: "\033[33m", 5: "\033[31m", 0: "\033[35m"}  # green, yellow, red, magenta


def format_line(entry: JournalEntry, *, colour: bool = False) -> str:
    """``16:02:11 POST /v1/api/events project=p 400 items=3 events[3].timestamp: ... (+2 more)``."""
    clock = entry.time[11:19]
    status = str(entry.status) if entry.status else "DROP"
    if colour:
        status = f"{_COLOURS.get(entry.status // 100, '')}{status}{_RESET}"
    parts = [clock, entry.method, entry.path, f"project={entry.project_id or '-'}", status]
    if entry.items is not None:
        parts.append(f"items={entry.items}")
    if entry.faulted:
        parts.append("[fault]")
    if entry.proxied:
        parts.append(f"upstream={entry.upstream_status if entry.upstream_status is not None else '-'}")
        if entry.agrees is False:
            parts.append("DISAGREE" if not colour else f"{_COLOURS[5]}DISAGREE{_RESET}")
        if entry.upstream_error:
            parts.append(f"({entry.upstream_error})")
    if entry.errors:
        first = entry.errors[0]
        more = f" (+{len(entry.errors) - 1} more)" if len(entry.errors) > 1 else ""
        parts.append(f"{first['field']}: {first['reason']}{more}")
    elif entry.warnings:
        more = f" (+{len(entry.warnings) - 1} more)" if len(entry.warnings) > 1 else ""
        parts.append(f"warning: {entry.warnings[0]}{more}")
    return " ".join(parts)


def format_json(entry: JournalEntry) -> str:
    """One JSON object per request, for tools; the body is left out (see /_mock/requests)."""
    return json.dumps(
        {
            "id": entry.id,
            "time": entry.time,
            "method": entry.method,
            "path": entry.path,
            "project_id": entry.project_id,
            "status": entry.status,
            "items": entry.items,
            "faulted": entry.faulted,
            "errors": entry.errors,
            "warnings": entry.warnings,
            **(
                {
                    "upstream_status": entry.upstream_status,
                    "upstream_error": entry.upstream_error,
                    "agree": entry.agrees,
                }
                if entry.proxied
                else {}
            ),
        },
        ensure_ascii=False,
    )


def console_listener(
    log_format: str = "text", *, quiet: bool = False, stream: TextIO | None = None
) -> Callable[[JournalEntry], None]:
    """A journal listener that prints each request; ``quiet`` keeps only the rejected ones
    (by the fake, or in proxy mode by the upstream)."""
    out = stream or sys.stdout
    # NO_COLOR (no-color.org): set and not empty, no colour even on a terminal
    colour = log_format == "text" and out.isatty() and not os.environ.get("NO_COLOR")

    def listen(entry: JournalEntry) -> None:
        upstream_ok = not entry.proxied or 200 <= (entry.upstream_status or 0) < 300
        if quiet and 200 <= entry.status < 300 and upstream_ok:
            return
        out.write((format_json(entry) if log_format == "json" else format_line(entry, colour=colour)) + "\n")
        out.flush()

    return listen
