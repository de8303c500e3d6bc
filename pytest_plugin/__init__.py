"""pytest plugin for the Marketap fake: fixtures, captured requests, assertion helpers.

Importing this package is cheap: Flask, respx and Hypothesis load only when a fixture or
``pytest_plugin.strategies`` needs them.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_plugin.captured import CapturedRequest, DeletionJob
    from pytest_plugin.context import mock_marketap
    from pytest_plugin.handle import MarketapMock, Mode
    from pytest_plugin.sources import ControlPlaneMissing
    from pytest_plugin.vendor_guard import RealMarketapBlocked

__all__ = [
    "CapturedRequest",
    "ControlPlaneMissing",
    "DeletionJob",
    "MarketapMock",
    "Mode",
    "RealMarketapBlocked",
    "mock_marketap",
]

_WHERE = {
    "CapturedRequest": "pytest_plugin.captured",
    "DeletionJob": "pytest_plugin.captured",
    "mock_marketap": "pytest_plugin.context",
    "RealMarketapBlocked": "pytest_plugin.vendor_guard",
    "MarketapMock": "pytest_plugin.handle",
    "Mode": "pytest_plugin.handle",
    "ControlPlaneMissing": "pytest_plugin.sources",
}


def __getattr__(name: str) -> Any:
    """Each name loads on first use: the plugin's entry point imports this package on every
    pytest run of the machine."""
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pytest_plugin' has no attribute {name!r}")
