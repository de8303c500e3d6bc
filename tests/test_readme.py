"""Every code block of both READMEs and of every page of the site is executed or checked.

Each fenced block follows a marker that says how:

- ``<!-- example: PATH -->``: the block is the file PATH, which the suite runs;
- ``<!-- curl -->``: each curl command is sent, in order, to a live fake of the defaults, and
  must not be refused (``<!-- curl 415 -->``: each must get that status);
- ``<!-- command -->``: each shell command is checked: its flags against the command line or
  pytest, its paths, modules and extras against the checkout;
- ``<!-- output -->``: what a command prints or a call answers (``<!-- output: banner -->`` is
  compared with what ``marketap-mock serve`` prints).

The reference pages are written from the code by ``python -m mockserver.reference``.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mockserver import Backend, LiveServer, Settings
from mockserver.cli import banner, build_parser
from mockserver.reference import pages

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = sorted(
    [ROOT / "README.md", ROOT / "README.ko.md", *DOCS.rglob("*.md")], key=lambda p: str(p.relative_to(ROOT))
)
KINDS = ("example", "curl", "command", "output")
DEFAULT_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    marker: str
    lang: str
    code: str

    @property
    def kind(self) -> str:
        return re.split(r"[ :]", self.marker, maxsplit=1)[0]

    @property
    def argument(self) -> str:
        return (
            re.split(r"[ :]", self.marker, maxsplit=1)[1].strip()
            if " " in self.marker or ":" in self.marker
            else ""
        )

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    name = str(path.relative_to(ROOT))
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("```"):
            assert not lines[i].startswith(" "), f"{name}:{i + 1}: an indented code fence"
            start = i
            lang = lines[i][3:].strip()
            i += 1
            while not lines[i].startswith("```"):
                i += 1
            previous = lines[start - 1] if start else ""
            found = re.fullmatch(r"<!-- (.*?) -->", previous)
            code = "\n".join(lines[start + 1 : i]) + "\n"
            yield Block(name, start + 1, found.group(1) if found else "", lang, code)
        i += 1


ALL = [block for page in PAGES for block in blocks(page)]


def of_kind(kind: str) -> list[Block]:
    return [block for block in ALL if block.kind == kind]


def test_the_pages_are_there() -> None:
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    korean = {"docs/index.ko.md", "docs/getting-started.ko.md", "docs/pytest.ko.md"}
    korean |= {"docs/outside-pytest.ko.md", "docs/errors.ko.md", "docs/recordings.ko.md", "README.ko.md"}
    korean |= {"docs/inprocess.ko.md"}
    assert korean <= names
    assert len(of_kind("example")) >= 20 and len(of_kind("curl")) >= 20 and len(of_kind("command")) >= 8


@pytest.mark.parametrize("block", ALL, ids=str)
def test_every_block_says_how_it_is_checked(block: Block) -> None:
    assert block.kind in KINDS, f"{block}: a code block without a marker ({', '.join(KINDS)})"


@pytest.mark.parametrize("block", of_kind("example"), ids=str)
def test_an_example_is_the_file_the_suite_runs(block: Block) -> None:
    path = block.argument
    # tests/examples/ runs in the suite; container/'s recipes run in .ci/container
    assert path.startswith(("tests/examples/", "container/")), path
    assert (ROOT / path).read_text(encoding="utf-8") == block.code, f"{block} differs from {path}"


@pytest.mark.parametrize("block", of_kind("output"), ids=str)
def test_a_shown_banner_is_what_serve_prints(block: Block) -> None:
    if block.argument == "banner":
        assert block.code == banner(DEFAULT_URL, Settings(), None, "127.0.0.1") + "\n"
    else:
        assert block.argument == "", f"{block}: unknown output {block.argument!r}"


# --- curl ---------------------------------------------------------------------------------------


def commands(code: str) -> list[str]:
    """One command per line once continuations are joined; comments dropped."""
    joined = code.replace("\\\n", " ")
    lines = [line.split("  #")[0].strip() for line in joined.split("\n")]
    return [line for line in lines if line and not line.startswith("#")]


def send_curl(command: str, base_url: str) -> requests.Response:
    words = shlex.split(command)
    assert words[0] == "curl", command
    method, headers, data, url = "GET", {}, None, None
    words = words[1:]
    while words:
        word = words.pop(0)
        if word in ("-i", "-s", "-sS", "-S", "--silent", "--include"):
            continue
        if word in ("-X", "--request"):
            method = words.pop(0)
        elif word in ("-H", "--header"):
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-binary"):
            data = words.pop(0).encode()
            method = "POST" if method == "GET" else method
        elif word.startswith("-"):
            raise AssertionError(f"an option the test does not know: {word} in {command}")
        else:
            assert url is None, command
            url = word
    assert url is not None and url.startswith(DEFAULT_URL), command
    return requests.request(
        method, base_url + url[len(DEFAULT_URL) :], headers=headers, data=data, timeout=10
    )


CURL_PAGES = sorted({block.page for block in of_kind("curl")})


@pytest.mark.parametrize("page", CURL_PAGES)
def test_every_curl_on_a_page_is_answered(page: str) -> None:
    """A page's curls run in order against one fake, started as ``marketap-mock serve`` is."""
    with LiveServer(Backend()) as server:
        # one request in the journal, so that a curl may read request 1
        send_curl(
            f"curl -X POST '{DEFAULT_URL}/v1/api/events?project_id=test-project' "
            "-H 'Authorization: Bearer test-api-key' -H 'Content-Type: application/json' "
            """-d '{"events": [{"name": "mkt_login", "user_id": "u-0"}]}'""",
            server.url,
        ).raise_for_status()
        for block in (b for b in of_kind("curl") if b.page == page):
            for command in commands(block.code):
                answer = send_curl(command, server.url)
                if block.argument:
                    assert answer.status_code == int(block.argument), f"{block}: {command}"
                else:
                    assert answer.status_code < 400, (
                        f"{block}: {command} -> {answer.status_code} {answer.text}"
                    )


# --- shell commands -----------------------------------------------------------------------------


@functools.cache
def pytest_help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    return done.stdout


def extras() -> set[str]:
    """The extras pyproject.toml declares (read as text: tomllib is not in Python 3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([a-z][\w-]*) = ", section, flags=re.M))


def check_pytest(args: list[str], cwd: Path) -> None:
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg.startswith("--"):
            option = arg.split("=")[0]
            assert re.search(rf"\s{re.escape(option)}[\s=,]", pytest_help()), f"pytest has no option {option}"
            skip = (
                "=" not in arg and option.startswith("--marketap") and option != "--marketap-allow-deletion"
            )
        elif arg in ("-n", "-m", "-k", "-p"):
            skip = True
        elif arg.startswith("-"):
            assert arg in ("-q", "-x", "-v"), arg
        elif arg != "contract_tests":
            assert (cwd / arg.split("::")[0]).exists(), arg


def check_command(command: str, cwd: Path) -> Path:
    """Checks one command; answers the folder the next command runs in."""
    words = shlex.split(command)
    program = words[0].removeprefix(".venv/bin/")
    args = words[1:]
    if program in ("python", "python3") and args[:1] == ["-m"]:
        program, args = args[1], args[2:]
    elif program in ("python", "python3") and args[:1] == ["manage.py"]:
        assert (cwd / "manage.py").exists(), cwd
        return cwd
    if program == "cd":
        assert (cwd / args[0]).is_dir(), args[0]
        return cwd / args[0]
    if program == "venv":
        return cwd
    if program == "pip" and args[0] == "wheel":
        assert args[-1] == ".", command
        return cwd
    if program == "docker":
        assert args[0] in ("build", "run"), command
        if args[0] == "build":
            assert (cwd / "Containerfile").exists(), command
        return cwd
    if program == "pip":
        assert args[0] == "install", command
        for arg in args[1:]:
            found = re.fullmatch(r"\.(?:\[(.*)\])?", arg)
            if found and found.group(1):
                assert set(found.group(1).split(",")) <= extras(), arg
            elif arg.startswith("-c"):
                continue
            else:
                assert found or arg in ("-q", "-e", "-c", "marketap-mock", ".ci/lowest.txt"), arg
        return cwd
    if program in ("marketap-mock", "mockserver"):
        try:
            build_parser().parse_args(args)
        except SystemExit as exc:
            raise AssertionError(f"marketap-mock refuses {command!r}") from exc
        return cwd
    if program == "pytest":
        check_pytest(args, cwd)
        return cwd
    if program.startswith("bench."):
        assert (ROOT / "bench" / f"{program.removeprefix('bench.')}.py").exists(), program
        return cwd
    if program == "mockserver.reference":
        return cwd
    if program in ("tox", "mkdocs"):
        return cwd
    raise AssertionError(f"a command the test does not know how to check: {command}")


@pytest.mark.parametrize("block", of_kind("command"), ids=str)
def test_every_command_is_one_the_checkout_takes(block: Block) -> None:
    for line in commands(block.code):
        cwd = ROOT
        for command in line.split("&&"):
            cwd = check_command(command.strip(), cwd)


# --- the README, the reference ------------------------------------------------------------------


def test_the_readme_is_a_landing_page() -> None:
    assert len(README.splitlines()) <= 150
    assert "README.ko.md" in "\n".join(README.splitlines()[:8])  # the Korean README, at the top
    korean = (ROOT / "README.ko.md").read_text(encoding="utf-8")
    assert len(korean.splitlines()) <= 150 and "README.md" in "\n".join(korean.splitlines()[:8])


def test_quick_start_commands_match_ci() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = re.search(r"Run the tests:\n\n<!-- command -->\n```bash\n(.*?)\n```", README, flags=re.S)
    assert test_command is not None
    assert test_command.group(1).replace(" -q", "") in ci.replace(" -q", "")


@pytest.mark.parametrize(("name", "text"), pages().items())
def test_a_reference_page_is_what_the_code_says(name: str, text: str) -> None:
    """Regenerate with ``python -m mockserver.reference``."""
    written = (DOCS / "reference" / name).read_text(encoding="utf-8")
    assert written == text, f"docs/reference/{name} is stale: python -m mockserver.reference"


def test_every_setting_is_in_the_reference() -> None:
    settings = (DOCS / "reference" / "settings.md").read_text(encoding="utf-8")
    for name in Settings.names():
        assert f"| `{name}` |" in settings, name


def test_the_reference_needs_every_control_call_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver import reference

    monkeypatch.delitem(reference.CONTROL_CALLS, ("POST", "/_mock/reset"))
    with pytest.raises(LookupError, match="POST /_mock/reset"):
        reference.control_reference()


def test_every_documented_control_call_is_a_route() -> None:
    from mockserver.reference import CONTROL_CALLS, control_routes

    assert set(CONTROL_CALLS) == set(control_routes())


def test_every_variable_the_container_page_and_recipes_name_exists() -> None:
    """Each MARKETAP_MOCK_ variable on the container page and in the recipes names a flag of serve
    or proxy, and every flag that is not a setting has its variable in the page's table."""
    from mockserver.cli import _subparsers, environment_variable

    parser = build_parser()
    actions = [a for c in ("serve", "proxy") for a in _subparsers(parser)[c]._actions if a.option_strings]
    known = {environment_variable(a) for a in actions if a.dest != "help"}
    recipes = [b.argument for b in of_kind("example") if b.argument.startswith("container/")]
    texts = [(DOCS / "container.md").read_text(encoding="utf-8")]
    texts += [(ROOT / path).read_text(encoding="utf-8") for path in recipes]
    named = {name for text in texts for name in re.findall(r"MARKETAP_MOCK_[A-Z_]*[A-Z]", text)}
    assert named - known == set()
    settings = {"MARKETAP_MOCK_" + name.upper() for name in Settings.names()}
    assert known - settings - named == set()
