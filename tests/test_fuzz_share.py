"""The share of examples the fuzzing tests run (``MARKETAP_FUZZ_SHARE``, tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import fuzz_examples


def test_the_default_share_keeps_every_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "FUZZ_SHARE", 1.0)
    assert [fuzz_examples(n) for n in (10, 25, 60, 700)] == [10, 25, 60, 700]


def test_a_share_scales_down_to_a_floor_of_25(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "FUZZ_SHARE", 0.25)
    # a count already below the floor is kept, never raised
    assert [fuzz_examples(n) for n in (10, 60, 200, 700)] == [10, 25, 50, 175]


@pytest.mark.parametrize("share", ["0", "1.5", "nan", "a quarter"])
def test_a_share_outside_0_to_1_stops_the_run(share: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import tests.conftest"],
        env={"MARKETAP_FUZZ_SHARE": share, "PATH": ""},
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode != 0
    assert "ValueError" in done.stderr
