"""The package as users get it: a wheel installed (not editable) works with no warning, and the
sdist carries what it needs to run its own tests."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment holding the wheel as pip installs it (unpacked), its dependencies
    taken from this environment's site-packages, without this checkout's editable hook."""
    env = tmp_path_factory.mktemp("env")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    site = next((env / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = dist.glob("marketap_mock-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return env / "bin" / "python"


def test_the_installed_contract_command_warns_of_nothing(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed), "-m", "mockserver", "contract", "--", "-k", "envelope", "-W", "error"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Warning" not in output, output[-3000:]
    where = subprocess.run(
        [str(installed), "-c", "import mockserver; print(mockserver.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert str(ROOT) not in where.stdout and "site-packages" in where.stdout  # the wheel's copy ran


def test_the_installed_plugin_loads_and_serves(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (tmp_path / "test_it.py").write_text(
        "import requests\n"
        "def test_it(marketap):\n"
        "    r = requests.post(marketap.url_for('/v1/api/events'), headers=marketap.headers,\n"
        "                      json={'events': [{'name': 'e', 'user_id': 'u'}]}, timeout=5)\n"
        "    assert r.status_code == 202\n"
        "    marketap.assert_event_sent('e')\n"
    )
    done = subprocess.run(
        [str(installed), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "1 passed" in done.stdout


def test_the_wheel_ships_the_page_and_the_types(dist: Path) -> None:
    (wheel,) = dist.glob("marketap_mock-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mockserver/static/index.html" in names
    assert {"mockserver/py.typed", "pytest_plugin/py.typed"} <= set(names)
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_the_sdist_can_run_its_own_tests(installed: Path, tmp_path: Path) -> None:
    """Unpacked, the sdist runs its tests against the installed wheel (a quick subset here)."""
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "-o", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (sdist,) = tmp_path.glob("marketap_mock-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        archive.extractall(tmp_path, filter="data")
    root = tmp_path / sdist.name.removesuffix(".tar.gz")
    for needed in (
        "tests/conftest.py",
        "tests/mockserver/test_openapi.py",
        "tox.ini",
        ".ci/run",
        # every file .ci/run reads or runs
        ".ci/lowest.txt",
        ".ci/lowest.py",
        ".ci/container",
        "Containerfile",
        "container/compose.yaml",
        "container/healthcheck.py",
        "container/test-compose.sh",
        "container/tests/test_image.py",
        "LICENSE",
    ):
        assert f"{root.name}/{needed}" in names, needed
    done = subprocess.run(
        [
            str(installed),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            "tests/mockserver/test_openapi.py",
            "tests/test_readme.py",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert " passed" in done.stdout and "error" not in done.stdout.lower()


def test_the_lowest_versions_file_is_computed_from_pyproject() -> None:
    """.ci/lowest.txt pins each floor of pyproject.toml, and nothing else (regenerate it with
    ``python3 .ci/lowest.py > .ci/lowest.txt``)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "lowest.py")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (ROOT / ".ci" / "lowest.txt").read_text() == done.stdout
    assert "werkzeug==" in done.stdout


def test_every_package_the_code_imports_is_declared() -> None:
    """A package imported by the shipped code is a dependency of its own, so its floor is
    tested (it must not arrive only as another package's dependency)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lowest", ROOT / ".ci" / "lowest.py")
    assert spec is not None and spec.loader is not None
    lowest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lowest)
    declared = {
        re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0].lower().replace("-", "_")
        for requirement in lowest.requirements(ROOT / "pyproject.toml")
    }
    imported: set[str] = set()
    for folder in ("mockserver", "pytest_plugin", "contract_tests"):
        for path in (ROOT / folder).rglob("*.py"):
            statements = re.findall(
                r"^\s*(?:from ([a-z_][a-z0-9_]*)[\w.]* import |import ([a-z_][a-z0-9_]*))",
                path.read_text(),
                flags=re.M,
            )
            imported.update(name for pair in statements for name in pair if name)
    third_party = {m for m in imported - set(sys.stdlib_module_names) if m not in _OWN}
    missing = {m for m in third_party if _DISTRIBUTION.get(m, m) not in declared}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"


#: the project's own packages, pytest's internals, type-checking-only names, and optional tools
#: imported only when present
_OWN = {
    "mockserver",
    "pytest_plugin",
    "contract_tests",
    "tests",
    "_pytest",
    "_typeshed",
    "pytest_asyncio",
    "xdist",
    "anyio",
    # the requests route's transport, imported only when a test uses requests
    "urllib3",
}
#: import name -> distribution name, where they differ
_DISTRIBUTION = {"pydantic_core": "pydantic_core"}
