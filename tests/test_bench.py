"""The benchmarks are not run by the suite (their figures need a quiet machine), but each must
still start: one that no longer imports would only be found by whoever next runs it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bench.run_all import BENCHMARKS

ROOT = Path(__file__).parents[1]
ALL = sorted(f"bench.{path.stem}" for path in (ROOT / "bench").glob("*.py") if path.stem != "__init__")


def test_run_all_runs_every_benchmark_with_targets() -> None:
    # the two that print counts rather than ratios, and the modules the others share
    aside = {"bench.load", "bench.attack", "bench.run_all", "bench.report", "bench.bodies"}
    aside |= {"bench.bare_app", "bench.ceiling_app"}
    assert sorted(BENCHMARKS) == sorted(set(ALL) - aside)


@pytest.mark.parametrize("module", ALL)
def test_every_benchmark_module_imports(module: str) -> None:
    imported = importlib.import_module(module)
    if module in BENCHMARKS:
        assert callable(imported.main)
