"""``marketap-mock contract``: run the contract suite and print its parity table."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TextIO

__all__ = ["format_table", "run_contract"]


def format_table(records: list[dict[str, Any]]) -> str:
    """case | evidence | expected | observed | verdict, failures first, then a count."""
    rows = sorted(records, key=lambda r: r["verdict"] == "pass")
    headers = ("case", "evidence", "expected", "observed", "verdict")
    cells = [[_cut(str(r[h])) for h in headers] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    counts = Counter(r["verdict"] for r in records)
    out.append(f"\n{len(records)} checks: {counts.get('pass', 0)} pass, {counts.get('fail', 0)} fail")
    return "\n".join(out)


def _cut(text: str, most: int = 70) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def run_contract(ns: argparse.Namespace, out: TextIO) -> int:
    import pytest

    # The suite ships beside this package. Found by path, not imported: a `contract_tests` of the
    # user's own in the current folder would shadow it, and a module imported before pytest
    # starts cannot have its asserts rewritten (pytest warns, on every installed copy).
    suite = Path(__file__).resolve().parents[1] / "contract_tests"
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(ns.report) if ns.report else Path(tmp) / "report.json"
        ini = Path(tmp) / "pytest.ini"
        # the suite's own settings: a plugin of the user's (pytest-asyncio) warns when unset
        settings = "asyncio_default_fixture_loop_scope = function\n" if find_spec("pytest_asyncio") else ""
        ini.write_text(f"[pytest]\n{settings}")
        args = [
            str(suite),
            "-c",
            str(ini),
            "--rootdir",
            str(suite.parent),
            "-p",
            "no:cacheprovider",
            "-q",
            f"--marketap-report={report}",
        ]
        for option in ("url", "api_key", "project_id"):
            if getattr(ns, option):
                args.append(f"--marketap-{option.replace('_', '-')}={getattr(ns, option)}")
        if ns.allow_deletion:
            args.append("--marketap-allow-deletion")
        if getattr(ns, "seed", None) is not None:
            args.append(f"--marketap-seed={ns.seed}")
        if getattr(ns, "recording", None):
            args.append(f"--marketap-recording={Path(ns.recording).resolve()}")
        code = pytest.main([*args, *ns.pytest_args])
        if report.exists():
            written = json.loads(report.read_text())
            out.write("\n" + format_table(written["records"]) + "\n")
            if "seed" in written:
                out.write(f"seed {written['seed']}: the same seed draws the same generated cases\n")
    return int(code)
