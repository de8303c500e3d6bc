"""One line per request on the console of ``marketap-mock serve``, plain, coloured or JSON."""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import stat
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from mockserver.journal import JournalEntry

__all__ = ["console_listener", "format_json", "format_line", "one_line"]

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
    if entry.agrees is False and entry.upstream_body:
        parts.append(f"| upstream: {one_line(entry.upstream_body)}")
    return " ".join(parts)


def one_line(text: str, most: int = 160) -> str:
    """``text`` on one line (runs of white space and control characters made one space), cut
    to ``most`` characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


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
    log_format: str = "text", *, quiet: bool = False, stream: TextIO | None = None, background: bool = False
) -> Callable[[JournalEntry], None]:
    """A journal listener that prints each request; ``quiet`` keeps only the rejected ones
    (by the fake, or in proxy mode by the upstream).

    ``background``: lines are written by a thread of their own (what a server needs, see
    :class:`_Writer`); otherwise at once, in the caller's thread.
    """
    out = stream or sys.stdout
    # NO_COLOR (no-color.org): set and not empty, no colour even on a terminal
    colour = log_format == "text" and out.isatty() and not os.environ.get("NO_COLOR")
    write = _Writer(out).put if background else _write_now(out)

    def listen(entry: JournalEntry) -> None:
        upstream_ok = not entry.proxied or 200 <= (entry.upstream_status or 0) < 300
        if quiet and 200 <= entry.status < 300 and upstream_ok:
            return
        write((format_json(entry) if log_format == "json" else format_line(entry, colour=colour)) + "\n")

    return listen


def _write_now(out: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        out.write(line)
        out.flush()

    return write


class _Writer:
    """Writes console lines from a thread of its own, so that a console nobody reads holds up
    no request.

    A server started with its output piped to a parent that never reads it fills the pipe, and a
    write to a full pipe blocks; written in the request's thread (under the backend's lock, and
    on granian in the event loop), that would stall every request. Here a full queue drops the
    line instead, and the console says how many were dropped once it is read again.

    A line is written at once, in the caller's thread, when that cannot block: nothing waits
    before it, and the output is a file, ``/dev/null``, or a pipe with room for it. Waking the
    writer thread for each line costs a busy server more than the request itself (the thread and
    the event loop trade the GIL for every line); a terminal, a socket and a full pipe still go
    through the thread.
    """

    #: lines waiting to be written; past this, new lines are dropped and counted
    MAX_WAITING = 10_000
    #: the most lines written at once
    BATCH = 1000
    #: at exit, how long the lines still waiting may take to be written
    EXIT_GRACE = 2.0

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lines: queue.Queue[str] = queue.Queue(self.MAX_WAITING)
        self.dropped = 0
        self._count = threading.Lock()
        #: held while writing to ``out``, by the writer thread or by a caller writing at once
        self._writing = threading.Lock()
        self._room = _room_check(out)
        threading.Thread(target=self._run, name="marketap-console", daemon=True).start()
        atexit.register(self._drain)

    def put(self, line: str) -> None:
        # Lines waiting (unfinished, even once the thread took them) go first: a line written at
        # once must not overtake them.
        if (
            self._room is not None
            and len(line) <= _MOST_AT_ONCE
            and not self.lines.unfinished_tasks
            and self._writing.acquire(blocking=False)
        ):
            try:
                if not self.lines.unfinished_tasks and not self.dropped and self._room():
                    self._write(line)
                    return
            finally:
                self._writing.release()
        try:
            self.lines.put_nowait(line)
        except queue.Full:
            with self._count:
                self.dropped += 1

    def _run(self) -> None:
        while True:
            # Every line waiting is written in one write and one flush: under load, lines arrive
            # faster than a write per line (a system call each) would keep up with cheaply.
            batch = [self.lines.get()]
            while len(batch) < self.BATCH:
                try:
                    batch.append(self.lines.get_nowait())
                except queue.Empty:
                    break
            taken = len(batch)
            with self._count:
                dropped, self.dropped = self.dropped, 0
            if dropped:
                batch.insert(0, f"({dropped} lines not shown: the console was not being read)\n")
            try:
                with self._writing:
                    self._write("".join(batch))
            finally:
                for _ in range(taken):
                    self.lines.task_done()

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):
            pass  # the console is gone (closed pipe, closed file): nothing more can be shown

    def _drain(self) -> None:
        # The lines of the last requests before a stop are written, unless the console is stuck.
        # Polled rather than joined in a thread: from Python 3.12 an exit handler may not start
        # one, and Queue.join has no timeout.
        deadline = time.monotonic() + self.EXIT_GRACE
        while self.lines.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)


#: The longest line written at once, in characters: encoded, at most ``PIPE_BUF`` bytes (four
#: per character at worst), which a pipe with any room takes whole without blocking.
_MOST_AT_ONCE = select.PIPE_BUF // 4


def _room_check(out: TextIO) -> Callable[[], bool] | None:
    """A check that a write of one line to ``out`` cannot block now, or None where there is none
    (a terminal, which flow control may stop; a socket; a stream without a file)."""
    try:
        fd = out.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        return None
    if stat.S_ISREG(mode) or (stat.S_ISCHR(mode) and not os.isatty(fd)):
        return lambda: True  # a file, /dev/null
    if stat.S_ISFIFO(mode):
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        # Linux and the BSDs report a pipe writable once it has room for PIPE_BUF bytes
        return lambda: any(events & select.POLLOUT for _, events in poller.poll(0))
    return None
