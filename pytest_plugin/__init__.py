"""pytest plugin for the Marketap fake: fixtures, captured requests, assertion helpers.

Importing this package is cheap: Flask, respx and Hypothesis load only when a fixture or
``pytest_plugin.strategies`` needs them.
"""

from pytest_plugin.captured import CapturedRequest, DeletionJob
from pytest_plugin.context import mock_marketap
from pytest_plugin.guard import RealMarketapBlocked
from pytest_plugin.handle import MarketapMock, Mode
from pytest_plugin.sources import ControlPlaneMissing

__all__ = [
    "CapturedRequest",
    "ControlPlaneMissing",
    "DeletionJob",
    "MarketapMock",
    "Mode",
    "RealMarketapBlocked",
    "mock_marketap",
]
