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


YAML_EXAMPLES = re.findall(r"<!-- example: (\S+) -->\n```yaml\n(.*?)```", README, flags=re.S)


def test_readme_has_its_container_recipes() -> None:
    assert [path for path, _ in YAML_EXAMPLES] == ["container/github-actions.yaml", "container/compose.yaml"]
    assert "<!-- example: container/tests/test_testcontainers.py -->" in README


@pytest.mark.parametrize(("path", "text"), YAML_EXAMPLES, ids=[p for p, _ in YAML_EXAMPLES])
def test_readme_recipe_is_the_file(path: str, text: str) -> None:
    assert (ROOT / path).read_text() == text


def test_every_variable_the_readme_and_recipes_name_exists() -> None:
    """Each MARKETAP_MOCK_ variable in the README and the recipes names a flag of serve or proxy,
    and every flag that is not a setting has its variable in the README's table."""
    from mockserver.cli import _subparsers, build_parser, environment_variable

    parser = build_parser()
    actions = [a for c in ("serve", "proxy") for a in _subparsers(parser)[c]._actions if a.option_strings]
    known = {environment_variable(a) for a in actions if a.dest != "help"}
    texts = [README, *((ROOT / path).read_text() for path, _ in YAML_EXAMPLES)]
    named = {name for text in texts for name in re.findall(r"MARKETAP_MOCK_[A-Z_]*[A-Z]", text)}
    assert named - known == set()
    settings = {"MARKETAP_MOCK_" + name.upper() for name in Settings.names()}
    assert known - settings - named == set()
