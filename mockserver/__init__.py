"""An offline fake of the Marketap Open API's five server-side ingestion endpoints."""

from mockserver.app import create_app
from mockserver.backend import Backend
from mockserver.errors import ApiError, FieldError, SettingsError, ToolkitError
from mockserver.journal import JournalEntry
from mockserver.server import LiveServer
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Settings

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
