"""The README's examples are the test files they name, and every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockserver import Settings

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"<!-- example: (\S+) -->\n```python\n(.*?)```", README, flags=re.S)


def test_readme_has_its_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize(("path", "code"), EXAMPLES, ids=[p for p, _ in EXAMPLES])
def test_readme_example_is_the_executed_test_file(path: str, code: str) -> None:
    assert (ROOT / path).read_text() == code


def test_every_setting_is_documented_in_the_readme() -> None:
    for name in Settings.names():
        assert f"| `{name}` |" in README, name


def test_quick_start_commands_match_ci() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = re.search(r"Run the tests:\n\n```bash\n(.*?)\n```", README, flags=re.S)
    assert test_command is not None
    assert test_command.group(1).replace(" -q", "") in ci.replace(" -q", "")


def test_the_field_reference_is_the_spec() -> None:
    """Regenerate with ``python -m mockserver.reference --write README.md``."""
    from mockserver.reference import BEGIN, END, field_reference

    written = BEGIN + README.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert written == field_reference(), (
        "README.md's field reference is stale: python -m mockserver.reference --write README.md"
    )
