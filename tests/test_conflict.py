"""Installed beside mockserver-client, which also ships a ``mockserver`` package: the last one
installed owns ``mockserver/__init__.py``. Simulated here with a copy of this package whose
``__init__.py`` is replaced and a ``mockserver-client`` distribution claiming it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import mockserver

CLIENT_INIT = '"""The MockServer client (a stand-in)."""\n\nclass MockServerClient:\n    pass\n'


BOOT = """
import importlib.util, sys
site = sys.argv.pop(1)
sys.path.insert(0, site)  # where the stand-in distribution's metadata is
spec = importlib.util.spec_from_file_location(
    "mockserver", site + "/mockserver/__init__.py", submodule_search_locations=[site + "/mockserver"]
)
module = importlib.util.module_from_spec(spec)
sys.modules["mockserver"] = module  # as if its __init__.py had overwritten this package's
spec.loader.exec_module(module)
if sys.argv[1] == "pytest":
    import pytest
    sys.exit(pytest.main(sys.argv[2:]))
from mockserver.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``args`` run with ``mockserver/__init__.py`` replaced by mockserver-client's."""
    site = tmp_path / "site"
    shutil.copytree(Path(mockserver.__file__).parent, site / "mockserver")
    (site / "mockserver" / "__init__.py").write_text(CLIENT_INIT)
    info = site / "mockserver_client-5.15.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mockserver-client\nVersion: 5.15.0\n")
    (info / "RECORD").write_text("mockserver/__init__.py,,\nmockserver_client-5.15.0.dist-info/METADATA,,\n")
    (info / "top_level.txt").write_text("mockserver\n")
    command = [sys.executable, "-c", BOOT, str(site), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)


def test_the_command_names_the_distribution_that_replaced_it(tmp_path: Path) -> None:
    done = run(tmp_path, "serve")
    assert done.returncode == 2
    assert "the package `mockserver` was replaced by mockserver-client" in done.stderr
    assert "separate virtual environments" in done.stderr


def test_a_pytest_run_says_so_at_once(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x(marketap):\n    pass\n")
    done = run(tmp_path, "pytest", "-p", "no:cacheprovider", str(tmp_path / "test_x.py"))
    assert done.returncode == 4, done.stdout + done.stderr  # a usage error, before any test
    assert "replaced by mockserver-client" in done.stderr


def test_this_package_is_recognised() -> None:
    from mockserver.conflict import conflict

    assert conflict() is None
