"""The read deadline of the asyncio front: a body must arrive whole within ``read_timeout``.

``asyncio.timeout`` would do, but it arms a timer of the event loop for each request and
disarms it when the body is in: a twentieth of a one-event request's time. Here one timer per
loop serves every body being read. It wakes every :data:`TICK` seconds while any read is
pending (none when idle) and cancels the reads whose time is up, which then raise
``TimeoutError`` as under ``asyncio.timeout``. A read is cut off at most a tick late.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["TICK", "deadline"]

#: How often pending reads are checked, in seconds: how late a deadline may fire.
TICK = 0.05


class _Pending:
    """The reads in progress on one event loop, by task."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.reads: dict[asyncio.Task[object], _Deadline] = {}
        self.timer: asyncio.TimerHandle | None = None

    def add(self, task: asyncio.Task[object], read: _Deadline) -> None:
        self.reads[task] = read
        if self.timer is None:
            self.timer = self.loop.call_later(TICK, self.sweep)

    def sweep(self) -> None:
        now = self.loop.time()
        for task, read in list(self.reads.items()):
            if not read.fired and read.due <= now:
                read.fired = True
                task.cancel()
        self.timer = self.loop.call_later(TICK, self.sweep) if self.reads else None


#: the pending reads of the loop last used. A server has one loop. Where loops take turns (one
#: test after another), each change starts a new set: a set left behind keeps its own timer, and
#: its reads their place in it, until its last read ends.
_last: _Pending | None = None


class _Deadline:
    __slots__ = ("_cancelling", "_pending", "_task", "due", "fired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.due = 0.0
        self.fired = False

    async def __aenter__(self) -> None:
        global _last
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None, "a read deadline needs a task"
        pending = _last
        if pending is None or pending.loop is not loop:
            pending = _last = _Pending(loop)
        self._task, self._pending = task, pending
        # How many cancellations were asked before, to tell ours from another's, where the task
        # counts them (Python 3.11, or a task class of a library's that does as 3.11 does); None
        # where it does not
        cancelling = getattr(task, "cancelling", None)
        self._cancelling = cancelling() if cancelling is not None else None
        self.due = loop.time() + self.seconds
        pending.add(task, self)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._pending.reads.pop(self._task, None)
        if not self.fired:
            return
        # The sweep cancelled the task once. Python 3.11 counts cancellations: one asked by
        # another (a server stopping) beside ours must go on as a cancellation.
        ours = self._cancelling is None or self._task.uncancel() <= self._cancelling
        if kind is asyncio.CancelledError:
            if ours:
                raise TimeoutError from error
            return
        if kind is None:
            # The block ended in the very turn the sweep cancelled it. The cancellation is still
            # on its way and would hit the request's next await: it is taken here. The body did
            # arrive whole.
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                if not ours:
                    raise


def deadline(seconds: float) -> _Deadline:
    """``async with deadline(seconds):`` raises ``TimeoutError`` when the block takes longer
    than ``seconds`` (up to :data:`TICK` more), as ``asyncio.timeout(seconds)`` would."""
    return _Deadline(seconds)
