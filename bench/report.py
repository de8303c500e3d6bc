"""The lines that state a target, in one format, so ``bench.run_all`` can gather them; and the
alternating rounds every side-by-side ratio is measured in."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["MARK", "Ratio", "alternating", "per_call_ms", "side_by_side", "skipped", "target"]

MARK = "[target]"


@dataclass(frozen=True)
class Ratio:
    """A ratio measured in several rounds: its median and its spread (lowest, highest)."""

    rounds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.rounds), max(self.rounds)

    def __str__(self) -> str:
        low, high = self.spread
        return f"{self.median:.2f}x (rounds {low:.2f}-{high:.2f}, n={len(self.rounds)})"


def target(label: str, ratio: float | Ratio, goal: float, *, at_most: bool = False) -> bool:
    """Print ``label``'s ratio against its goal; return whether it is met.

    A :class:`Ratio` is judged by its median, so a target is met or missed, not met in some
    runs; its spread is printed beside it to show how much the machine moved meanwhile.
    """
    value = ratio.median if isinstance(ratio, Ratio) else ratio
    shown = str(ratio) if isinstance(ratio, Ratio) else f"{ratio:.2f}x"
    met = value <= goal if at_most else value >= goal
    sign = "<=" if at_most else ">="
    print(f"{MARK} {label}: {shown} (target {sign} {goal}x) {'met' if met else 'NOT met'}", flush=True)
    return met


def skipped(label: str, why: str) -> None:
    print(f"{MARK} {label}: skipped, {why}", flush=True)


def alternating(measures: Sequence[Callable[[], float]], *, rounds: int = 9) -> list[tuple[float, ...]]:
    """Each measure once per round, in turn, ``rounds`` times; one tuple of figures per round.

    Taken in turn, the measures of one round share the machine's state of the moment, so a
    ratio between two of them within a round cancels most of the noise a busy machine adds.
    """
    return [tuple(measure() for measure in measures) for _ in range(rounds)]


def per_call_ms(fn: Callable[[], object], *, min_time: float = 0.2) -> Callable[[], float]:
    """A measure: the mean CPU time of one call of ``fn``, over at least ``min_time`` seconds.

    CPU time of this process, not wall time: on a shared machine the wall clock also counts the
    slices other processes took, which is noise, not cost.
    """

    def measure() -> float:
        n, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < min_time:
            fn()
            n += 1
        return elapsed / n * 1000

    fn()  # warm caches and lazily built types before the first round
    return measure


def side_by_side(floor: Callable[[], object], cost: Callable[[], object]) -> tuple[Ratio, float, float]:
    """``cost`` against ``floor``, each call timed by :func:`per_call_ms` in alternating rounds:
    the ratio of each round's two, and the median milliseconds of each."""
    rounds = alternating([per_call_ms(floor), per_call_ms(cost)])
    ratio = Ratio(tuple(c / f for f, c in rounds))
    return ratio, statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)
