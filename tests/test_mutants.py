"""The mutation check: the contract suite catches every wrong fake in the catalogue.

``python -m tests.mutants`` serves each mutant of ``mockserver/`` from a copy and judges it with
the pristine suite; here it runs as CI runs it, in a process of its own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=1800)


def test_every_mutant_still_finds_the_code_it_changes() -> None:
    """A change to the fake that moves a mutant's text is told here in a second, by name, not
    after the whole catalogue has been served."""
    from tests.mutants import MUTANTS

    lost = [
        f"{mutant.name!r} ({mutant.file})"
        for mutant in MUTANTS
        if (ROOT / "mockserver" / mutant.file).read_text().count(mutant.old) != 1
    ]
    assert not lost, "these mutants' text is not found once: " + ", ".join(lost)


def test_every_mutant_is_killed() -> None:
    from tests.mutants import MUTANTS

    done = _run("-m", "tests.mutants")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    found = re.search(r"^(\d+)/(\d+) mutants killed", done.stdout, re.MULTILINE)
    assert found, done.stdout[-2000:]
    assert int(found[1]) == int(found[2]) == len(MUTANTS)
    assert "SURVIVED" not in done.stdout


def test_a_change_the_suite_cannot_see_survives() -> None:
    """The harness reports what the suite misses: a mutant that changes only a comment lives."""
    code = (
        "import sys\n"
        "from tests.mutants import Mutant, run\n"
        "control, verdicts = run([Mutant('a comment reworded', 'auth.py', "
        "'# Compare against every key', '# Compare with every key', by=('test_envelope',))])\n"
        "sys.exit(10 * control.killed + verdicts[0].killed)\n"
    )
    done = _run("-c", code)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_a_mutant_that_no_longer_applies_is_an_error() -> None:
    from tests.mutants import Mutant, _apply

    try:
        _apply(Mutant("gone", "auth.py", "no such text", "x"), "some source")
    except ValueError as exc:
        assert "occurs 0 times" in str(exc)
    else:
        raise AssertionError("a mutant whose text is gone was applied")
