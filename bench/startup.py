"""What installing marketap-mock costs every pytest run on the machine, as a ratio to bare pytest.

Run: ``python -m bench.startup [--runs 10]``. In an empty project, ``pytest --collect-only``
runs three ways, interleaved so they share the machine's noise: bare (no plugin autoloaded),
everything installed (this plugin and its dependencies' plugins: Hypothesis, respx, anyio,
pytest-asyncio, xdist), and everything but this plugin (``-p no:marketap``). The difference
of the last two is the plugin's own cost (target: at most 20 ms); the rest is what the
dependencies' plugins cost, with warm bytecode caches and without them
(``PYTHONDONTWRITEBYTECODE=1``, common in containers, where pytest rewrites their modules on
every run). The import of the plugin alone: ``python -X importtime -c "import pytest_plugin.plugin"``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import target

WAYS = {
    "bare pytest (no plugin autoloaded)": ({"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, []),
    "installed, all plugins": ({}, []),
    "installed, -p no:marketap": ({}, ["-p", "no:marketap"]),
}


def run(cwd: str, env: dict[str, str], args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=False,
    )
    return (time.perf_counter() - started) * 1000


def measure(runs: int, extra_env: dict[str, str]) -> dict[str, float]:
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as empty:
        Path(empty, "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        for _ in range(runs):
            for way, (env, args) in WAYS.items():
                times[way].append(run(empty, {**os.environ, **extra_env, **env}, args))
    return {way: statistics.median(values) for way, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    met = True
    for label, extra in (
        ("warm bytecode caches", {}),
        ("PYTHONDONTWRITEBYTECODE=1", {"PYTHONDONTWRITEBYTECODE": "1"}),
    ):
        medians = measure(args.runs, extra)
        bare = medians["bare pytest (no plugin autoloaded)"]
        print(f"\n{label}: pytest --collect-only of an empty project, median of {args.runs}")
        for way, ms in medians.items():
            print(f"  {way:<40} {ms:8.1f} ms {ms / bare:6.2f}x")
        own = medians["installed, all plugins"] - medians["installed, -p no:marketap"]
        print(f"  the marketap plugin's own cost: {own:.1f} ms; the rest is its dependencies' plugins")
        label = f"the marketap plugin's own cost / 20 ms, {label}"
        met = target(label, max(own, 0.0) / 20, 1.0, at_most=True) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
