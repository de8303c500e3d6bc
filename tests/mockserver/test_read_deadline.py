"""The read deadline of the asyncio front: one timer for every read, the same outcomes as
``asyncio.timeout``."""

from __future__ import annotations

import asyncio
import time

import pytest

from mockserver import read_deadline
from mockserver.read_deadline import TICK, deadline


@pytest.mark.asyncio
async def test_a_read_within_its_time_passes_and_leaves_no_timer() -> None:
    async with deadline(5):
        await asyncio.sleep(0)
    pending = read_deadline._last
    assert pending is not None and pending.loop is asyncio.get_running_loop()
    assert pending.reads == {}
    await asyncio.sleep(TICK * 2)
    assert pending.timer is None  # an idle loop is not woken


@pytest.mark.asyncio
async def test_a_stalled_read_raises_timeout_error_about_on_time() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with deadline(0.1):
            await asyncio.Event().wait()
    took = time.monotonic() - started
    assert 0.1 <= took < 0.1 + TICK + 0.5
    assert not asyncio.current_task().cancelling()  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_each_read_has_its_own_deadline() -> None:
    async def read(seconds: float, work: float) -> str:
        try:
            async with deadline(seconds):
                await asyncio.sleep(work)
        except TimeoutError:
            return "timed out"
        return "read"

    results = await asyncio.gather(read(0.1, 1), read(2, 0.2), read(0.15, 0.01), read(0.2, 5))
    assert list(results) == ["timed out", "read", "read", "timed out"]


@pytest.mark.asyncio
async def test_another_cancellation_stays_a_cancellation() -> None:
    entered = asyncio.Event()

    async def read() -> None:
        async with deadline(5):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(read())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_a_cancellation_beside_an_expired_deadline_is_not_swallowed() -> None:
    async def read() -> None:
        async with deadline(0):
            await asyncio.Event().wait()

    task = asyncio.create_task(read())
    await asyncio.sleep(0)  # the read is waiting
    pending = read_deadline._last
    assert pending is not None and pending.loop is asyncio.get_running_loop()
    pending.sweep()  # its deadline fires
    task.cancel()  # and, in the same turn, another cancellation (a server stopping)
    with pytest.raises((asyncio.CancelledError, TimeoutError)):
        await task
    if hasattr(task, "cancelling"):
        assert task.cancelled()  # Python 3.11 tells the two apart: the other one wins


@pytest.mark.asyncio
async def test_a_read_that_ends_as_its_deadline_fires_is_not_cancelled_later() -> None:
    # The sweep cancels the task while the block is about to end without awaiting again: the
    # cancellation must not hit the request's next await (its answer).
    loop = asyncio.get_running_loop()
    async with deadline(0.01):
        due = time.monotonic() + 0.01 + TICK * 2
        while time.monotonic() < due:
            pass  # busy: the sweep cannot run until the block yields
        pending = read_deadline._last
        assert pending is not None and pending.loop is loop
        pending.sweep()  # the sweep runs in this very turn, as its timer would
    await asyncio.sleep(0.01)  # would raise CancelledError if the cancellation were left over
    await asyncio.sleep(0)


def test_each_event_loop_has_its_own_timer() -> None:
    async def stall() -> bool:
        try:
            async with deadline(0.05):
                await asyncio.sleep(1)
        except TimeoutError:
            return True
        return False

    assert asyncio.run(stall())
    assert asyncio.run(stall())  # a timer of the first loop, now closed, would never fire


def test_a_loop_whose_reads_were_left_behind_still_cuts_them_off() -> None:
    """Two loops in two threads, taking turns: each turn starts a new set of pending reads, and
    the set left behind keeps its timer until its reads end."""
    import threading

    async def stall(seconds: float) -> bool:
        try:
            async with deadline(seconds):
                await asyncio.sleep(5)
        except TimeoutError:
            return True
        return False

    results: list[bool] = []
    other = threading.Thread(target=lambda: results.append(asyncio.run(stall(0.3))))
    other.start()
    time.sleep(0.1)  # the other loop's read is pending; this loop's now takes over
    assert asyncio.run(stall(0.05))
    other.join(timeout=5)
    assert results == [True]
