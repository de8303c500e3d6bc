"""The lines that state a target, in one format, so ``bench.run_all`` can gather them."""

from __future__ import annotations

__all__ = ["MARK", "skipped", "target"]

MARK = "[target]"


def target(label: str, ratio: float, goal: float, *, at_most: bool = False) -> bool:
    """Print ``label``'s ratio against its goal; return whether it is met."""
    met = ratio <= goal if at_most else ratio >= goal
    sign = "<=" if at_most else ">="
    print(f"{MARK} {label}: {ratio:.2f}x (target {sign} {goal}x) {'met' if met else 'NOT met'}", flush=True)
    return met


def skipped(label: str, why: str) -> None:
    print(f"{MARK} {label}: skipped, {why}", flush=True)
