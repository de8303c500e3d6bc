"""``mock_marketap``: the in-process fake outside pytest fixtures, for ``unittest``, Django's
test runner and scripts. A context manager and a decorator, as ``responses.activate``,
``respx.mock`` and moto's ``mock_aws`` are used.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import functools
import inspect
import os
import unittest
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from mockserver import spec
from mockserver.errors import SettingsError, ToolkitError
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from pytest_plugin.handle import MarketapMock

__all__ = ["mock_marketap"]

# unittest (and Django's runner) leave the frames of a module with this name out of a failure's
# traceback, as pytest leaves out those with __tracebackhide__.
__unittest = True

T = TypeVar("T")


class mock_marketap:  # lower case, as the decorators it stands beside (respx.mock, mock_aws)
    """A fresh fake in process while active: requests for https://event.marketap.io from httpx,
    requests and aiohttp go into it with no socket, and nothing reaches the real Marketap.

    ``with mock_marketap(**settings) as marketap:`` yields the :class:`MarketapMock` handle.
    As a decorator on a function it passes the handle as the ``marketap`` keyword when the
    function takes one (``async def`` included). On a ``unittest.TestCase`` class (Django's
    included) it covers the whole lifecycle: class-level set-up (``setUpClass``, Django's
    ``setUpTestData``) and tear-down run inside one fake, with its handle as ``cls.marketap``;
    each test (``setUp``, the test, ``tearDown``, cleanups) inside a fresh one, as
    ``self.marketap``. On any other class, each ``test*`` method runs inside a fresh fake.

    ``api_key`` and ``project_id`` (default: ``MARKETAP_API_KEY`` and ``MARKETAP_PROJECT_ID``
    from the environment, else ``test-api-key`` and ``test-project``) are what the fake accepts
    and what the handle sends and reads; with ``api_keys={key: project or [projects]}`` the fake
    accepts those, and the handle takes the first key and its first project.
    """

    def __init__(self, *, api_key: str | None = None, project_id: str | None = None, **settings: Any) -> None:
        self.api_key, self.project_id, self.settings = _credentials(api_key, project_id, settings)
        self._stack: list[Any] = []

    def _again(self) -> mock_marketap:
        """A fresh fake with the same credentials and settings."""
        return mock_marketap(api_key=self.api_key, project_id=self.project_id, **self.settings)

    def __enter__(self) -> MarketapMock:
        from contextlib import ExitStack

        from mockserver.backend import Backend
        from mockserver.flask_app import create_app
        from pytest_plugin.inprocess import InProcess
        from pytest_plugin.sources import BackendSource
        from pytest_plugin.vendor_guard import guarding

        backend = Backend(self.settings)
        stack = ExitStack()
        routes = InProcess(create_app(backend=backend)).start()
        stack.callback(routes.stop)
        stack.enter_context(guarding("mock_marketap"))
        self._stack.append(stack)
        return MarketapMock(
            url=spec.BASE_URL,
            api_key=self.api_key,
            project_id=self.project_id,
            source=BackendSource(backend),
            mode="inprocess",
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.pop().close()

    def __call__(self, target: T) -> T:
        if inspect.isclass(target):
            if issubclass(target, unittest.TestCase):
                return self._decorate_test_case(target)  # type: ignore[return-value]
            return self._decorate_class(target)  # type: ignore[return-value]
        if not callable(target):
            raise TypeError("mock_marketap decorates functions and classes")
        return self._decorate_function(target)  # type: ignore[return-value]

    def _decorate_function(self, func: Callable[..., Any]) -> Callable[..., Any]:
        takes_handle = "marketap" in inspect.signature(func).parameters

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._again() as handle:
                    if takes_handle:
                        kwargs["marketap"] = handle
                    return await func(*args, **kwargs)

            return _hide(run_async, func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._again() as handle:
                if takes_handle:
                    kwargs["marketap"] = handle
                return func(*args, **kwargs)

        return _hide(run, func)

    def _decorate_test_case(self, cls: type[unittest.TestCase]) -> type[unittest.TestCase]:
        """Class-level set-up to class-level tear-down in one fake; each test from ``setUp`` to
        its last cleanup in a fresh one. Both end in cleanups, which unittest runs after the
        tear-down and even when the set-up failed."""
        outer = self
        set_up_class = cls.__dict__.get("setUpClass")
        set_up = cls.__dict__.get("setUp")

        def class_set_up(klass: type[unittest.TestCase]) -> None:
            fake = outer._again()
            klass.marketap = fake.__enter__()  # type: ignore[attr-defined]
            klass.addClassCleanup(fake.__exit__, None, None, None)
            if set_up_class is not None:
                set_up_class.__func__(klass)
            else:
                super(cls, klass).setUpClass()  # type: ignore[misc]

        def test_set_up(test: unittest.TestCase) -> None:
            fake = outer._again()
            test.marketap = fake.__enter__()  # type: ignore[attr-defined]
            test.addCleanup(fake.__exit__, None, None, None)
            if set_up is not None:
                set_up(test)
            else:
                super(cls, test).setUp()  # type: ignore[misc]

        cls.setUpClass = classmethod(class_set_up)  # type: ignore[assignment]
        cls.setUp = test_set_up  # type: ignore[method-assign,assignment]
        return cls

    def _decorate_class(self, cls: type) -> type:
        for name, method in list(vars(cls).items()):
            if name.startswith("test") and callable(method):
                setattr(cls, name, self._decorate_method(method))
        return cls

    def _decorate_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(method):

            @functools.wraps(method)
            async def run_async(test: Any, *args: Any, **kwargs: Any) -> Any:
                with self._again() as handle:
                    test.marketap = handle
                    return await method(test, *args, **kwargs)

            return run_async

        @functools.wraps(method)
        def run(test: Any, *args: Any, **kwargs: Any) -> Any:
            with self._again() as handle:
                test.marketap = handle
                return method(test, *args, **kwargs)

        return run


def _credentials(
    api_key: str | None, project_id: str | None, settings: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """The handle's key and project and the fake's settings, agreeing with each other; the
    settings are checked now, where the decorator is written, not when a test runs."""
    from mockserver.settings import Settings

    if "api_keys" not in settings:
        api_key = api_key or os.environ.get("MARKETAP_API_KEY") or DEFAULT_API_KEY
        project_id = project_id or os.environ.get("MARKETAP_PROJECT_ID") or DEFAULT_PROJECT_ID
        settings = {**settings, "api_keys": {api_key: [project_id]}}
    try:
        checked = Settings.from_mapping(settings)
    except SettingsError as exc:
        raise ToolkitError(f"mock_marketap: {exc}") from None
    first_key, projects = next(iter(checked.api_keys.items()))
    return api_key or first_key, project_id or projects[0], settings


def _hide(wrapper: Callable[..., Any], func: Callable[..., Any]) -> Callable[..., Any]:
    """pytest must not ask for a ``marketap`` fixture for the parameter the decorator fills."""
    signature = inspect.signature(func)
    params = [p for name, p in signature.parameters.items() if name != "marketap"]
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper
