"""Every benchmark of the project, one after the other, then the targets in one table:
``python -m bench.run_all``."""

from __future__ import annotations

import subprocess
import sys

from bench.report import MARK

BENCHMARKS = [
    "bench.inprocess",
    "bench.plugin_overhead",
    "bench.startup",
    "bench.strategies",
    "bench.soak",
    "bench.dashboard_poll",
    "bench.stalls",
    "bench.live",
    "bench.instructions",
    "bench.recording",
]


def main() -> int:
    failed = 0
    targets: list[str] = []
    for module in BENCHMARKS:
        print(f"\n=== {module}", flush=True)
        process = subprocess.Popen([sys.executable, "-m", module], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith(MARK):
                targets.append(line[len(MARK) :].strip())
        failed |= process.wait()
    print("\n=== targets (ratios measured side by side within each benchmark's run)")
    for line in targets:
        print(f"  {line}")
    return 1 if failed or any(line.endswith("NOT met") for line in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
