"""Print .ci/lowest.txt: the lowest version of each dependency pyproject.toml allows.

Computed from the floors (``>=``) of the package's dependencies and of its ``aiohttp`` extra,
so the file cannot drift from pyproject.toml (tests/test_packaging.py compares them).
Run: python3 .ci/lowest.py > .ci/lowest.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HEADER = """\
# The lowest version of each dependency pyproject.toml allows, written by .ci/lowest.py (do not
# edit by hand): .ci/run installs the package with these as constraints and runs the whole
# suite, so a lower bound is one that works.
"""


def requirements(pyproject: Path) -> list[str]:
    """The package's requirements and its aiohttp extra's, read from pyproject.toml. The two
    arrays are read with a pattern rather than tomllib, which Python 3.10 lacks; their strings
    hold no bracket and no '#'."""
    text = pyproject.read_text()
    found = []
    for key in ("dependencies", "aiohttp", "testing"):
        array = re.search(rf"^{key} = \[([^\]]*)\]", text, flags=re.M)
        if array is None:
            sys.exit(f"no {key} array in {pyproject}")
        without_comments = re.sub(r"#[^\n]*", "", array.group(1))
        items = re.findall(r'"([^"]+)"', without_comments)
        if key == "testing":
            # Of the suite's tools, only the libraries the in-process routes patch, and the
            # frameworks the examples run the fixtures under, have floors the package answers for.
            items = [item for item in items if re.match(r"(respx|responses|pytest-django|fastapi)\b", item)]
        found += [item for item in items if item not in found]
    return found


def floors(pyproject: Path) -> list[str]:
    pins = []
    for requirement in requirements(pyproject):
        bound = r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\s*(?:,\s*<\s*[0-9][0-9.]*)?"
        match = re.fullmatch(bound, requirement.split(";")[0].strip())
        if match is None:
            sys.exit(f"{requirement!r} has no plain lower bound (name>=version, or name>=low,<high)")
        name, version = match.groups()
        # A floor such as 3.0 is the release 3.0.0 on the index.
        pins.append(f"{name}=={version if version.count('.') >= 2 else version + '.0'}")
    return pins


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    sys.stdout.write(HEADER + "".join(pin + "\n" for pin in floors(root / "pyproject.toml")))
