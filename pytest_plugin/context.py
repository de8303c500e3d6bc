"""``mock_marketap``: the in-process fake outside pytest fixtures, for ``unittest``, Django's
test runner and scripts. A context manager and a decorator, as ``responses.activate``,
``respx.mock`` and moto's ``mock_aws`` are used.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from mockserver import spec
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from pytest_plugin.handle import MarketapMock

__all__ = ["mock_marketap"]

T = TypeVar("T")


class mock_marketap:  # lower case, as the decorators it stands beside (respx.mock, mock_aws)
    """A fresh fake in process while active: requests for https://event.marketap.io from httpx,
    requests and aiohttp go into it with no socket, and nothing reaches the real Marketap.

    ``with mock_marketap(**settings) as marketap:`` yields the :class:`MarketapMock` handle.
    As a decorator on a function it passes the handle as the ``marketap`` keyword when the
    function takes one (``async def`` included); on a ``unittest.TestCase`` class each test
    method runs inside it, with the handle as ``self.marketap``.
    """

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self._stack: list[Any] = []

    def __enter__(self) -> MarketapMock:
        from contextlib import ExitStack

        from mockserver.backend import Backend
        from mockserver.flask_app import create_app
        from pytest_plugin.inprocess import InProcess
        from pytest_plugin.sources import BackendSource
        from pytest_plugin.vendor_guard import guarding

        backend = Backend({"api_keys": {DEFAULT_API_KEY: [DEFAULT_PROJECT_ID]}, **self.settings})
        stack = ExitStack()
        routes = InProcess(create_app(backend=backend)).start()
        stack.callback(routes.stop)
        stack.enter_context(guarding("mock_marketap"))
        self._stack.append(stack)
        return MarketapMock(
            url=spec.BASE_URL,
            api_key=DEFAULT_API_KEY,
            project_id=DEFAULT_PROJECT_ID,
            source=BackendSource(backend),
            mode="inprocess",
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.pop().close()

    def __call__(self, target: T) -> T:
        if inspect.isclass(target):
            return self._decorate_class(target)  # type: ignore[return-value]
        if not callable(target):
            raise TypeError("mock_marketap decorates functions and unittest.TestCase classes")
        return self._decorate_function(target)  # type: ignore[return-value]

    def _decorate_function(self, func: Callable[..., Any]) -> Callable[..., Any]:
        takes_handle = "marketap" in inspect.signature(func).parameters

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with mock_marketap(**self.settings) as handle:
                    if takes_handle:
                        kwargs["marketap"] = handle
                    return await func(*args, **kwargs)

            return _hide(run_async, func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with mock_marketap(**self.settings) as handle:
                if takes_handle:
                    kwargs["marketap"] = handle
                return func(*args, **kwargs)

        return _hide(run, func)

    def _decorate_class(self, cls: type) -> type:
        for name, method in list(vars(cls).items()):
            if name.startswith("test") and callable(method):
                setattr(cls, name, self._decorate_method(method))
        return cls

    def _decorate_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        settings = self.settings

        if inspect.iscoroutinefunction(method):  # IsolatedAsyncioTestCase

            @functools.wraps(method)
            async def run_async(test: Any, *args: Any, **kwargs: Any) -> Any:
                with mock_marketap(**settings) as handle:
                    test.marketap = handle
                    return await method(test, *args, **kwargs)

            return run_async

        @functools.wraps(method)
        def run(test: Any, *args: Any, **kwargs: Any) -> Any:
            with mock_marketap(**settings) as handle:
                test.marketap = handle
                return method(test, *args, **kwargs)

        return run


def _hide(wrapper: Callable[..., Any], func: Callable[..., Any]) -> Callable[..., Any]:
    """pytest must not ask for a ``marketap`` fixture for the parameter the decorator fills."""
    signature = inspect.signature(func)
    params = [p for name, p in signature.parameters.items() if name != "marketap"]
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper
