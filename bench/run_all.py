"""Every benchmark of the project, one after the other: ``python -m bench.run_all``."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ["bench.inprocess", "bench.plugin_overhead", "bench.strategies", "bench.soak", "bench.live"]


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"\n=== {module}", flush=True)
        failed |= subprocess.run([sys.executable, "-m", module]).returncode
    return failed


if __name__ == "__main__":
    sys.exit(main())
