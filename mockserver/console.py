"""One line per request on the console of ``marketap-mock serve``, plain, coloured or JSON."""

from __future__ import annotations

import atexit
import json
import multiprocessing.util
import os
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
    # whether the two verdicts disagree: asked of a proxied request only (the rest are not
    # compared), and once, as it is worked out on every read
    disagrees = entry.proxied and entry.agrees is False
    if entry.proxied:
        parts.append(f"upstream={entry.upstream_status if entry.upstream_status is not None else '-'}")
        if disagrees:
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
    if disagrees and entry.upstream_body:
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

    def render(entry: JournalEntry) -> str:
        return (format_json(entry) if log_format == "json" else format_line(entry, colour=colour)) + "\n"

    # In the background, an entry is formatted by the writer's thread, with the others of its
    # batch: formatted one by one between requests, the lines cost a server twice as much.
    write = _Writer(out, render).put if background else _write_now(out, render)

    def listen(entry: JournalEntry) -> None:
        upstream_ok = not entry.proxied or 200 <= (entry.upstream_status or 0) < 300
        if quiet and 200 <= entry.status < 300 and upstream_ok:
            return
        write(entry)

    return listen


def _write_now(out: TextIO, render: Callable[[JournalEntry], str]) -> Callable[[JournalEntry], None]:
    def write(entry: JournalEntry) -> None:
        out.write(render(entry))
        out.flush()

    return write


class _Writer:
    """Writes console lines from a thread of its own, so that a console nobody reads holds up
    no request.

    A server started with its output piped to a parent that never reads it fills the pipe, and a
    write to a full pipe blocks; written in the request's thread (under the backend's lock, and
    on granian in the event loop), that would stall every request. Here the request's thread
    only adds its line to a list; past :attr:`MAX_WAITING` lines, new ones are dropped, and the
    console says how many once it is read again.

    The first line of a batch wakes the thread, which lets more gather for :attr:`DELAY` and
    writes them all in one write. Under load that is one wake-up and one write a twentieth of a
    second, where a write per line (a system call, and the GIL passed to and fro for it) cost a
    busy server an eighth of a one-event request.

    A line may be put as a journal entry, which this thread formats with ``render``, a batch at
    a time (a twelfth of a one-event request on a busy server, formatted in the request's turn).
    An entry holds its body: past :attr:`MAX_HELD_BYTES` of bodies waiting, an entry is
    formatted where it is put, so a console nobody reads keeps only lines.
    """

    #: lines waiting to be written; past this, new lines are dropped and counted
    MAX_WAITING = 10_000
    #: how long, in seconds, a line may wait for others to go out with it
    DELAY = 0.05
    #: at exit, how long the lines still waiting may take to be written
    EXIT_GRACE = 2.0
    #: bytes of bodies (and upstream answers) the entries waiting may hold; past it, entries are
    #: formatted as they are put
    MAX_HELD_BYTES = 16 * 1024 * 1024

    def __init__(self, out: TextIO, render: Callable[[JournalEntry], str] | None = None) -> None:
        self.out = out
        self.render = render
        self.dropped = 0
        self._lines: list[str | JournalEntry] = []
        #: bytes the entries waiting hold
        self._held = 0
        #: lines put and not yet written (waiting, or being written)
        self._unwritten = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        #: set at exit: what waits goes out without the delay
        self._hurry = threading.Event()
        threading.Thread(target=self._run, name="marketap-console", daemon=True).start()
        atexit.register(self._drain)
        # granian's worker is a multiprocessing child, which ends with os._exit: its atexit
        # handlers never run, multiprocessing's finalizers do.
        multiprocessing.util.Finalize(self, self._drain, exitpriority=100)

    def put(self, line: str | JournalEntry) -> None:
        """Write ``line`` soon: a text, or an entry for ``render`` to format."""
        with self._lock:
            if len(self._lines) >= self.MAX_WAITING:
                self.dropped += 1
                return
            if not isinstance(line, str):
                weight = len(line.raw) + len(line.upstream_body or "")
                if self._held + weight > self.MAX_HELD_BYTES:
                    line = self._text(line)
                else:
                    self._held += weight
            self._lines.append(line)
            self._unwritten += 1
            first = len(self._lines) == 1
        if first:
            self._wake.set()

    def idle(self) -> bool:
        """Whether every line put has been written (or dropped)."""
        return self._unwritten == 0

    def join(self, timeout: float) -> bool:
        """Wait until :meth:`idle`, at most ``timeout`` seconds; whether it is. Polled rather than
        waited on: at exit, from Python 3.12, no thread may be started to wait with a timeout."""
        deadline = time.monotonic() + timeout
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.idle()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._hurry.wait(self.DELAY)
            with self._lock:
                self._wake.clear()
                batch, self._lines = self._lines, []
                dropped, self.dropped = self.dropped, 0
                self._held = 0
            if not batch and not dropped:
                continue
            text = "".join(line if isinstance(line, str) else self._text(line) for line in batch)
            if dropped:
                text = f"({dropped} lines not shown: the console was not being read)\n" + text
            try:
                self._write(text)
            finally:
                with self._lock:
                    self._unwritten -= len(batch)

    def _text(self, entry: JournalEntry) -> str:
        assert self.render is not None, "an entry put where no render was given"
        try:
            return self.render(entry)
        except Exception:  # a bug of ours must not end the thread, and with it the console
            return f"(request #{entry.id} could not be shown)\n"

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):
            pass  # the console is gone (closed pipe, closed file): nothing more can be shown

    def _drain(self) -> None:
        # The lines of the last requests before a stop are written, unless the console is stuck.
        # Called at exit by atexit and by multiprocessing, whichever the process runs: the grace
        # is given once.
        if self._hurry.is_set():
            return
        self._hurry.set()
        self.join(self.EXIT_GRACE)
