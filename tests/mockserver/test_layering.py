"""State, validation and auth are plain Python: importing them loads no Flask."""

from __future__ import annotations

import json
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


def loaded(statements: list[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` that running ``statements`` loads, in a fresh interpreter."""
    code = "\n".join(
        [
            "import json, sys",
            *statements,
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout)
    return found


def test_pure_modules_do_not_import_flask() -> None:
    statements = [*(f"import mockserver.{m}" for m in PURE), "from mockserver import Backend, Settings"]
    assert loaded(statements, ("flask", "werkzeug")) == []


def test_the_http_layer_is_there_on_demand() -> None:
    import mockserver

    assert callable(mockserver.create_app)
    assert mockserver.LiveServer.__name__ == "LiveServer"


def test_the_command_line_loads_no_http_client_before_pytest() -> None:
    """``marketap-mock contract`` runs pytest in the CLI's process: a module imported before it
    (httpx 0.27 brings anyio, a pytest plugin) cannot be rewritten, which ``-W error`` fails."""
    statements = ["import mockserver.cli, mockserver.pipeline, mockserver.flask_app, mockserver.proxy"]
    assert loaded(statements, ("httpx", "anyio")) == []
