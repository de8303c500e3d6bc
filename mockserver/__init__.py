"""An offline fake of the Marketap Open API's five server-side ingestion endpoints.

Every name here loads on first use: the pytest plugin imports ``mockserver.spec`` on every
pytest run of a machine where the package is installed, and must not pay for the backend,
Flask or the installed version's metadata then.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__marketap_mock__ = True  # see mockserver.conflict: tells this package from another `mockserver`

if TYPE_CHECKING:
    from mockserver.backend import Backend
    from mockserver.errors import ApiError, FieldError, SettingsError, ToolkitError
    from mockserver.flask_app import create_app
    from mockserver.journal import JournalEntry
    from mockserver.proxy import Upstream
    from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Settings
    from mockserver.werkzeug_server import LiveServer

    __version__: str

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_PROJECT_ID",
    "ApiError",
    "Backend",
    "FieldError",
    "JournalEntry",
    "LiveServer",
    "Settings",
    "SettingsError",
    "ToolkitError",
    "Upstream",
    "__version__",
    "create_app",
]


_WHERE = {
    "create_app": "mockserver.flask_app",
    "Backend": "mockserver.backend",
    "ApiError": "mockserver.errors",
    "FieldError": "mockserver.errors",
    "SettingsError": "mockserver.errors",
    "ToolkitError": "mockserver.errors",
    "JournalEntry": "mockserver.journal",
    "LiveServer": "mockserver.werkzeug_server",
    "Upstream": "mockserver.proxy",
    "DEFAULT_API_KEY": "mockserver.settings",
    "DEFAULT_PROJECT_ID": "mockserver.settings",
    "Settings": "mockserver.settings",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("marketap-mock")
        except PackageNotFoundError:  # a checkout on sys.path, not installed
            return "0+unknown"
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
