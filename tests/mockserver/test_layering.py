"""The core is plain Python: of mockserver's modules, only the HTTP layer loads Flask or werkzeug.

The HTTP layer is the short list below; every other module, including any added later, is held
to the rule without being named here.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import mockserver

#: The doors and the control plane: the only modules that may load Flask or werkzeug.
HTTP_LAYER = frozenset(
    {"flask_app", "control", "ingest_front", "asgi_front", "werkzeug_server", "granian_server"}
)


def modules() -> list[str]:
    """Every module of mockserver, found on disk (``__main__`` runs the command when imported)."""
    return sorted(m.name for m in pkgutil.iter_modules(mockserver.__path__) if m.name != "__main__")


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
    core = [m for m in modules() if m not in HTTP_LAYER]
    assert {"spec", "settings", "validation", "auth", "state", "backend", "pipeline"} <= set(core)
    statements = [*(f"import mockserver.{m}" for m in core), "from mockserver import Backend, Settings"]
    assert loaded(statements, ("flask", "werkzeug")) == []


@pytest.mark.parametrize("module", sorted(HTTP_LAYER))
def test_each_module_of_the_http_layer_needs_it(module: str) -> None:
    """A module listed here that no longer loads Flask or werkzeug belongs to the core."""
    assert module in modules()
    assert loaded([f"import mockserver.{module}"], ("flask", "werkzeug")) != []


def test_the_http_layer_is_there_on_demand() -> None:
    assert callable(mockserver.create_app)
    assert mockserver.LiveServer.__name__ == "LiveServer"


def test_the_command_line_loads_no_http_client_before_pytest() -> None:
    """``marketap-mock contract`` runs pytest in the CLI's process: a module imported before it
    (httpx 0.27 brings anyio, a pytest plugin) cannot be rewritten, which ``-W error`` fails.
    Whatever the command line comes to import, no module of mockserver loads an HTTP client."""
    statements = ["import mockserver.cli", *(f"import mockserver.{m}" for m in modules())]
    assert loaded(statements, ("httpx", "anyio")) == []
