"""State, validation and auth are plain Python: importing them loads no Flask."""

from __future__ import annotations

import subprocess
import sys

PURE = [
    "spec",
    "settings",
    "errors",
    "validation",
    "fastpath",
    "auth",
    "state",
    "journal",
    "clock",
    "faults",
    "console",
    "backend",
    "pipeline",
    "openapi",
    "proxy",
    "parity",
    "curl",
    "names",
    "duplicates",
]


def test_pure_modules_do_not_import_flask() -> None:
    code = "\n".join(
        [
            "import sys",
            *(f"import mockserver.{m}" for m in PURE),
            "from mockserver import Backend, Settings",
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug'))",
            "assert not bad, bad",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_http_layer_is_there_on_demand() -> None:
    import mockserver

    assert callable(mockserver.create_app)
    assert mockserver.LiveServer.__name__ == "LiveServer"


def test_the_command_line_loads_no_http_client_before_pytest() -> None:
    """``marketap-mock contract`` runs pytest in the CLI's process: a module imported before it
    (httpx 0.27 brings anyio, a pytest plugin) cannot be rewritten, which ``-W error`` fails."""
    code = "\n".join(
        [
            "import sys",
            "import mockserver.cli, mockserver.pipeline, mockserver.app, mockserver.proxy",
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'anyio'))",
            "assert not bad, bad",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
