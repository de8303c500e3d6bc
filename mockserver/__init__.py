"""An offline fake of the Marketap Open API's five server-side ingestion endpoints.

The HTTP parts (``create_app``, ``LiveServer``) load Flask on first use, so the plain-Python
core (``mockserver.validation``, ``mockserver.backend``, ...) imports without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.backend import Backend
from mockserver.errors import ApiError, FieldError, SettingsError, ToolkitError
from mockserver.journal import JournalEntry
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Settings

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.server import LiveServer

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
    "create_app",
]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mockserver.app import create_app

        return create_app
    if name == "LiveServer":
        from mockserver.server import LiveServer

        return LiveServer
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
