"""The pytest plugin (entry point ``marketap``): options, the marker and three fixtures.

Loading it imports neither Flask, respx nor Hypothesis; fixtures import what they use.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from mockserver import spec
from mockserver.conflict import conflict
from mockserver.errors import SettingsError
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from pytest_plugin.vendor_guard import attempts, guarding, is_vendor_host

if TYPE_CHECKING:
    from flask import Flask

    from mockserver.backend import Backend
    from pytest_plugin.handle import MarketapMock

__all__ = ["marketap", "marketap_inprocess", "marketap_respx", "marketap_server"]

_OPTIONS = {
    "url": "URL of a Marketap API to test against instead of the in-process fake",
    "api_key": f"API key to send (default: {DEFAULT_API_KEY})",
    "project_id": f"project_id to send (default: {DEFAULT_PROJECT_ID})",
    "control_token": "token for the control plane of a fake started with --control-token",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("marketap", "Marketap fake (marketap-mock)")
    for name, help_text in _OPTIONS.items():
        flag = "--marketap-" + name.replace("_", "-")
        env = "MARKETAP_" + name.upper()
        group.addoption(flag, dest=f"marketap_{name}", default=None, help=f"{help_text}; env {env}")
        parser.addini(f"marketap_{name}", help_text)
    # Read by the contract suite; declared here, where pytest sees it before collecting, so
    # that `pytest --pyargs contract_tests --marketap-recording FILE` parses.
    group.addoption(
        "--marketap-recording",
        dest="marketap_recording",
        metavar="FILE",
        default=None,
        help="with the contract suite: run each exchange of this recording (marketap-mock proxy "
        "--record) as a test, which passes when the server agrees with the recorded upstream",
    )


def pytest_configure(config: pytest.Config) -> None:
    problem = conflict()
    if problem:
        raise pytest.UsageError(problem)
    _check_shared_fake(config)
    _read_recording(config)
    config.addinivalue_line(
        "markers",
        "marketap(**settings): settings of the Marketap fake for this test, "
        "e.g. @pytest.mark.marketap(allow_naive_timestamps=True, deletion_jobs='manual')",
    )


#: the exchanges of ``--marketap-recording``, for the contract suite's recorded tests
RECORDED = pytest.StashKey[list[Any]]()


def _read_recording(config: pytest.Config) -> None:
    """Read ``--marketap-recording`` whole before anything is collected: a file that is not a
    recording stops the run at once, and nothing is sent."""
    path = config.getoption("marketap_recording", None)
    if not path:
        return
    from mockserver.recording import RecordingError, read_recording

    try:
        config.stash[RECORDED] = read_recording(path).exchanges
    except RecordingError as exc:
        raise pytest.UsageError(f"--marketap-recording: {exc}") from None
    except OSError as exc:
        raise pytest.UsageError(f"--marketap-recording: cannot read {path}: {exc.strerror or exc}") from None


def _xdist_worker(config: pytest.Config) -> str | None:
    """This session's pytest-xdist worker id (``gw0``), or None outside a worker."""
    workerinput = getattr(config, "workerinput", None)
    return None if workerinput is None else str(workerinput["workerid"])


def _check_shared_fake(config: pytest.Config) -> None:
    """Under pytest-xdist, workers pointed at one fake each take a project of their own; that
    needs a fake that accepts any project. Checked once, before any test runs."""
    where = target(config)
    workers = getattr(config.option, "numprocesses", None)
    if not workers or where.url is None or where.is_real_service or _xdist_worker(config) is not None:
        return
    from pytest_plugin.sources import ControlPlaneMissing, HttpSource

    try:
        settings = HttpSource(where.url, where.control_token).settings()
    except ControlPlaneMissing:
        # Not a fake: nothing is reset or read there, so there is nothing to share.
        return
    if not settings.get("any_project"):
        raise pytest.UsageError(
            f"marketap: under pytest-xdist every worker would reset the state of the one fake at "
            f"{where.url}; start it with `marketap-mock serve --any-project` (each worker then uses "
            f"a project of its own, '{where.project_id}-gw0', ...) or drop --marketap-url so that "
            "each worker starts a fake of its own"
        )


@dataclass(frozen=True)
class Target:
    """Where the tests send requests: ``url`` None means the fake this plugin starts."""

    url: str | None
    api_key: str
    project_id: str
    control_token: str | None

    @property
    def is_real_service(self) -> bool:
        """Pointed at the vendor's own host on purpose: no guard, nothing to share or reset."""
        return self.url is not None and is_vendor_host(urlsplit(self.url).hostname)


def _setting(config: pytest.Config, name: str) -> str | None:
    """Command line first, then the environment, then the ini file."""
    value = config.getoption(f"marketap_{name}") or os.environ.get(f"MARKETAP_{name.upper()}")
    return value or (str(config.getini(f"marketap_{name}")) or None)


_TARGET = pytest.StashKey[Target]()


def target(config: pytest.Config) -> Target:
    """Where the tests send their requests: read once a session (every fixture asks)."""
    found = config.stash.get(_TARGET, None)
    if found is None:
        found = config.stash[_TARGET] = _read_target(config)
    return found


def _read_target(config: pytest.Config) -> Target:
    return Target(
        url=_setting(config, "url"),
        api_key=_setting(config, "api_key") or DEFAULT_API_KEY,
        project_id=_setting(config, "project_id") or DEFAULT_PROJECT_ID,
        control_token=_setting(config, "control_token"),
    )


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The test's ``@pytest.mark.marketap`` settings, checked (closest marker wins)."""
    from mockserver.settings import Settings

    settings: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("marketap"))):
        if marker.args:
            pytest.fail("@pytest.mark.marketap takes settings as keywords only", pytrace=False)
        settings.update(marker.kwargs)
    if not settings:
        return settings
    try:
        Settings.from_mapping(settings)
    except SettingsError as exc:
        pytest.fail(f"@pytest.mark.marketap: {exc}", pytrace=False)
    return settings


def _backend_for(where: Target) -> Backend:
    """A fresh backend that accepts the target's key for its project."""
    from mockserver.backend import Backend as _Backend

    return _Backend({"api_keys": {where.api_key: [where.project_id]}})


@pytest.fixture(scope="session")
def marketap_server(pytestconfig: pytest.Config) -> Iterator[MarketapMock]:
    """Session: one live fake on 127.0.0.1 (a free port), or the ``--marketap-url`` target.

    Not reset between tests: use it inside ``@given`` tests and call ``reset()`` per example.
    """
    from pytest_plugin.handle import MarketapMock
    from pytest_plugin.sources import BackendSource, HttpSource

    where = target(pytestconfig)
    if where.url is not None:
        worker = _xdist_worker(pytestconfig)
        shared = worker is not None and not where.is_real_service
        project = f"{where.project_id}-{worker}" if shared else where.project_id
        source = HttpSource(where.url, where.control_token, project_scope=project if shared else None)
        yield MarketapMock(
            url=where.url, api_key=where.api_key, project_id=project, source=source, mode="external"
        )
        return
    from mockserver.werkzeug_server import LiveServer

    backend = _backend_for(where)
    with LiveServer(backend) as server:
        yield MarketapMock(
            url=server.url,
            api_key=where.api_key,
            project_id=where.project_id,
            source=BackendSource(backend),
            mode="live",
        )


@pytest.fixture
def marketap(marketap_server: MarketapMock, request: pytest.FixtureRequest) -> Iterator[MarketapMock]:
    """Function: the live fake with its state and journal reset before the test.

    For code that talks HTTP with any client (requests, httpx, urllib, a subprocess).
    """
    from pytest_plugin.sources import ControlPlaneMissing

    settings = _marker_settings(request)
    try:
        marketap_server.reset()
    except ControlPlaneMissing:
        if settings:
            pytest.fail("@pytest.mark.marketap needs a fake with a control plane", pytrace=False)
        yield marketap_server  # the real service: requests work, state helpers explain why not
        return
    try:
        if settings:
            marketap_server.configure(**settings)
        with _guard(request, "marketap"):
            yield marketap_server
    finally:
        # Settings, fault rules and the clock go back, so nothing leaks into the next test.
        marketap_server.restore()


_IN_PROCESS = pytest.StashKey["tuple[Backend, Flask]"]()


def _in_process_fake(config: pytest.Config) -> tuple[Backend, Flask]:
    """One in-process backend and app per session, made at first use: building a Flask app per
    test costs more than the test. The in-process fixtures reset it before each test. Kept on
    the config, not in a session fixture, so that a test asks pytest for one fixture fewer."""
    fake = config.stash.get(_IN_PROCESS, None)
    if fake is None:
        from mockserver.flask_app import create_app

        backend = _backend_for(target(config))
        fake = config.stash[_IN_PROCESS] = (backend, create_app(backend=backend))
    return fake


def _in_process(
    request: pytest.FixtureRequest, clients: tuple[str, ...], name: str
) -> Iterator[MarketapMock]:
    """A fresh fake in process for ``clients``, the guard up, and everything put back after."""
    from pytest_plugin.handle import MarketapMock
    from pytest_plugin.inprocess import InProcess
    from pytest_plugin.sources import BackendSource

    where = target(request.config)
    backend, app = _in_process_fake(request.config)
    backend.reset()
    settings = _marker_settings(request)
    handle = MarketapMock(
        url=spec.BASE_URL,
        api_key=where.api_key,
        project_id=where.project_id,
        source=BackendSource(backend),
        mode="inprocess",
    )
    routes = InProcess(app, spec.BASE_URL, clients).start()
    try:
        with _guard(request, name):
            if settings:
                handle.configure(**settings)
            yield handle
    finally:
        routes.stop()
        # Settings, fault rules and the clock go back, so nothing leaks into the next test.
        handle.restore()


@contextmanager
def _guard(request: pytest.FixtureRequest, name: str) -> Iterator[None]:
    """The guard around a test; an attempt it blocked fails the test, even if the code under
    test swallowed the error."""
    where = target(request.config)
    if where.is_real_service:
        yield  # pointed at the real service on purpose
        return
    before = len(attempts())
    with guarding(name):
        yield
    blocked = attempts(before)
    if blocked:
        pytest.fail(blocked[0], pytrace=False)


@pytest.fixture
def marketap_inprocess(request: pytest.FixtureRequest) -> Iterator[MarketapMock]:
    """Function: a fresh fake in process; requests for https://event.marketap.io from httpx
    (sync and async), requests and aiohttp (when installed) go into it with no socket. Other
    hosts are not intercepted."""
    from pytest_plugin.inprocess import CLIENTS

    yield from _in_process(request, CLIENTS, "marketap_inprocess")


@pytest.fixture
def marketap_respx(request: pytest.FixtureRequest) -> Iterator[MarketapMock]:
    """Function: a fresh fake in process; httpx requests (sync and async) for
    https://event.marketap.io go into it with no socket. Other hosts are not intercepted."""
    yield from _in_process(request, ("httpx",), "marketap_respx")
