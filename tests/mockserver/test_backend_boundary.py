"""The backend owns its lock and its parts: every other module asks it through its methods."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mockserver
import pytest_plugin
from mockserver import Backend

PACKAGES = [Path(mockserver.__file__).parent, Path(pytest_plugin.__file__).parent]
BACKEND = Path(mockserver.__file__).parent / "backend.py"


def parts() -> set[str]:
    """What a backend holds (its lock, store, journal, clock, fault rules and so on): every
    attribute an instance carries, as opposed to its methods and properties."""
    return set(vars(Backend()))


def reaches(source: str, names: set[str]) -> list[str]:
    """Where ``source`` reads one of ``names`` off anything but ``self``, as ``line: text``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names:
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                continue
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_backend_holds_a_lock_and_its_parts() -> None:
    """What the next test looks for is there to find."""
    assert {"_lock", "_store", "_journal", "_clock", "_faults", "_limiter", "_parity"} <= parts()


@pytest.mark.parametrize(
    "module",
    [p for package in PACKAGES for p in sorted(package.rglob("*.py")) if p != BACKEND],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_no_module_but_the_backend_reaches_into_it(module: Path) -> None:
    assert reaches(module.read_text(encoding="utf-8"), parts()) == []


def test_the_check_finds_a_caller_that_takes_the_lock() -> None:
    caller = "def ingest(backend):\n    with backend._lock:\n        backend._journal.append(1)\n"
    assert reaches(caller, parts()) == ["2: backend._lock", "3: backend._journal"]
