"""The fake's one clock: real time by default, frozen and moved by tests when they ask."""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timezone

__all__ = ["LATEST", "Clock", "iso"]

#: 9999-12-31T23:59:59Z, the last second an RFC 3339 timestamp can name
LATEST = 253_402_300_799.0


class Clock:
    """Wall-clock seconds, plus an offset tests control; frozen while ``frozen_at`` is set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> float:
        """Stop the clock where it is; returns the frozen time."""
        now = self.now()
        with self._lock:
            self._frozen_at = now
        return now

    def advance(self, seconds: float) -> float:
        """Move the clock forward (frozen or not); returns the new time."""
        if not 0 <= seconds < math.inf:
            raise ValueError("the clock only moves forward, by a finite number of seconds")
        if self.now() + seconds > LATEST:
            raise ValueError(
                f"the clock cannot pass {iso(LATEST)}: timestamps have four-digit years "
                "(DELETE /_mock/clock, or reset, returns it to real time)"
            )
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        return self.now()

    def freeze_at(self, seconds: float) -> None:
        """Stop the clock at ``seconds`` (a saved state's time)."""
        with self._lock:
            self._frozen_at = seconds

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None


def iso(seconds: float) -> str:
    """Epoch seconds as an RFC 3339 UTC timestamp with milliseconds."""
    # As datetime.fromtimestamp reads them: whole seconds, and the fraction rounded (half to
    # even) to microseconds, carried into the seconds at a million.
    fraction, whole = math.modf(seconds)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    if micros < 0 or not math.isfinite(whole):  # before 1970, or no time at all: the general way
        return _iso(seconds)
    return _second(int(whole)) + _MILLIS[micros // 1000]


#: ".000Z" to ".999Z": a lookup, where formatting the milliseconds cost a fifth of ``iso``
_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))
#: the second formatted last, and its text: every request is journaled with the time, and all
#: of one second's requests share the formatting (a tuple, replaced whole: threads may race)
_last_second: tuple[int, str] = (-1, "")


def _second(whole: int) -> str:
    global _last_second
    last = _last_second
    if last[0] == whole:
        return last[1]
    text = _iso(whole)[:19]
    _last_second = (whole, text)
    return text


def _iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
