"""What installing marketap-mock costs every pytest run on the machine, as a ratio to bare pytest.

Run: ``python -m bench.startup [--runs 10]``. In an empty project, ``pytest --collect-only``
runs three ways, in turn in each round so they share the machine's noise: bare (no plugin
autoloaded), everything installed (this plugin and its dependencies' plugins: Hypothesis,
respx, anyio, pytest-asyncio, xdist), and everything but this plugin (``-p no:marketap``). The
difference of the last two within a round is the plugin's own cost (target: at most 20 ms,
judged by the median of the rounds); the rest is what the dependencies' plugins cost, with warm
bytecode caches and without them (``PYTHONDONTWRITEBYTECODE=1``, common in containers, where
pytest rewrites their modules on every run). Each run is timed by the CPU it took, not the wall
clock: a difference of 20 ms between runs of about 1.5 s is lost in the slices other processes
take meanwhile. The import of the plugin alone: ``python -X importtime -c "import
pytest_plugin.plugin"``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.report import Ratio, target

WAYS = {
    "bare pytest (no plugin autoloaded)": ({"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, []),
    "installed, all plugins": ({}, []),
    "installed, -p no:marketap": ({}, ["-p", "no:marketap"]),
}


def run(cwd: str, env: dict[str, str], args: list[str]) -> float:
    """The CPU time, in ms, of one ``pytest --collect-only`` (user and system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def measure(runs: int, extra_env: dict[str, str]) -> dict[str, list[float]]:
    """Each way's time in each round, the ways taken in turn within a round."""
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as empty:
        Path(empty, "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        for _ in range(runs):
            for way, (env, args) in WAYS.items():
                times[way].append(run(empty, {**os.environ, **extra_env, **env}, args))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    met = True
    for label, extra in (
        ("warm bytecode caches", {}),
        ("PYTHONDONTWRITEBYTECODE=1", {"PYTHONDONTWRITEBYTECODE": "1"}),
    ):
        times = measure(args.runs, extra)
        bare = statistics.median(times["bare pytest (no plugin autoloaded)"])
        print(f"\n{label}: pytest --collect-only of an empty project, CPU ms, median of {args.runs}")
        for way, values in times.items():
            ms = statistics.median(values)
            print(f"  {way:<40} {ms:8.1f} ms {ms / bare:6.2f}x")
        # A negative difference is noise: the plugin cannot make the run cheaper.
        own = [
            max(a - b, 0.0)
            for a, b in zip(times["installed, all plugins"], times["installed, -p no:marketap"], strict=True)
        ]
        own_ms = statistics.median(own)
        print(f"  the marketap plugin's own cost: {own_ms:.1f} ms; the rest is its dependencies' plugins")
        label = f"the marketap plugin's own cost / 20 ms, {label}"
        met = target(label, Ratio(tuple(ms / 20 for ms in own)), 1.0, at_most=True) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
