"""In process is the wire: one table of scenarios, each sent by every client the in-process
routes serve, in process and against the live fake on werkzeug and on granian, compared on what
the client saw (its final status or exception, the statuses the fake answered, what was
stored, and which of the scenario's time marks the call passed).

Time is compared by marks far apart (a timeout against a latency twelve times longer, a
``Retry-After`` of two seconds against an answer at once, eight calls at once against the same
calls one after another), so a loaded machine moves no result across a mark.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mockserver import Backend, LiveServer, spec
from mockserver.flask_app import create_app
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from pytest_plugin.handle import MarketapMock
from pytest_plugin.inprocess import InProcess
from pytest_plugin.sources import BackendSource, HttpSource
from tests.conftest import serving

PATH = f"/v1/api/events?project_id={DEFAULT_PROJECT_ID}"
BODY = json.dumps({"events": [{"name": "mkt_login", "user_id": "u-1"}]}).encode()
HEADERS = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Scenario:
    #: sets the fake up before the call (fault rules)
    arrange: Callable[[MarketapMock], Any] = lambda fake: None
    body: bytes = BODY
    headers: dict[str, str] = field(default_factory=dict)
    #: the client's own timeout, in seconds
    timeout: float = 10.0
    #: how many calls at once (threads for sync clients, tasks for async ones)
    concurrent: int = 1
    #: the elapsed time is compared by how many of these marks it passed
    marks: tuple[float, ...] = ()
    #: the live servers it is compared with: granian has no socket to close for a drop
    servers: tuple[str, ...] = ("werkzeug", "granian")


SCENARIOS = {
    "2xx": Scenario(),
    "4xx": Scenario(body=b"{not json"),
    "429 with Retry-After": Scenario(arrange=lambda fake: fake.fail_next(429, retry_after=2), marks=(1.5,)),
    "429 without Retry-After": Scenario(arrange=lambda fake: fake.fail_next(429)),
    "503 without Retry-After": Scenario(arrange=lambda fake: fake.fail_next(503, times=2)),
    "dropped connection": Scenario(arrange=lambda fake: fake.drop_next(), servers=("werkzeug",)),
    "latency under the timeout": Scenario(arrange=lambda fake: fake.add_latency(100), marks=(0.08,)),
    "latency over the timeout": Scenario(
        arrange=lambda fake: fake.add_latency(6000, times=1), timeout=0.5, marks=(0.45, 4.0)
    ),
    "8 at once with latency": Scenario(
        arrange=lambda fake: fake.add_latency(400), concurrent=8, marks=(0.35, 2.4)
    ),
    "gzip body": Scenario(body=gzip.compress(BODY), headers={"Content-Encoding": "gzip"}),
}


# --- the clients: each sends one POST and says what it saw -----------------------------------


def _seen(call: Callable[[], int]) -> int | str:
    """The final status, or the name of the exception the client raised."""
    try:
        return call()
    except Exception as exc:
        return type(exc).__name__


def _retrying_session() -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=3,
        backoff_factor=0,
        status_forcelist=(429, 503),
        allowed_methods=None,  # POST too: the events carry no id, the code under test decided so
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def _sync_client(post: Callable[[str, bytes, dict[str, str], float], int]) -> Callable[..., list[int | str]]:
    def run(url: str, scenario: Scenario) -> list[int | str]:
        headers = {**HEADERS, **scenario.headers}

        def one(_: int) -> int | str:
            return _seen(lambda: post(url, scenario.body, headers, scenario.timeout))

        if scenario.concurrent == 1:
            return [one(0)]
        with ThreadPoolExecutor(scenario.concurrent) as pool:
            return list(pool.map(one, range(scenario.concurrent)))

    return run


def _requests_functions() -> Callable[..., list[int | str]]:
    return _sync_client(
        lambda url, body, h, t: requests.post(url, data=body, headers=h, timeout=t).status_code
    )


def _requests_session(session_factory: Callable[[], requests.Session]) -> Callable[..., list[int | str]]:
    def run(url: str, scenario: Scenario) -> list[int | str]:
        with session_factory() as session:
            return _sync_client(
                lambda u, body, h, t: session.post(u, data=body, headers=h, timeout=t).status_code
            )(url, scenario)

    return run


def _httpx_sync(transport: Callable[[], httpx.HTTPTransport | None]) -> Callable[..., list[int | str]]:
    def run(url: str, scenario: Scenario) -> list[int | str]:
        with httpx.Client(transport=transport(), timeout=scenario.timeout) as client:
            return _sync_client(lambda u, body, h, t: client.post(u, content=body, headers=h).status_code)(
                url, scenario
            )

    return run


def _async_client(
    post: Callable[..., Any], session: Callable[[float], Any]
) -> Callable[..., list[int | str]]:
    def run(url: str, scenario: Scenario) -> list[int | str]:
        headers = {**HEADERS, **scenario.headers}

        async def one(client: Any) -> int | str:
            try:
                return int(await post(client, url, scenario.body, headers))
            except Exception as exc:
                return type(exc).__name__

        async def main() -> list[int | str]:
            async with session(scenario.timeout) as client:
                return list(await asyncio.gather(*(one(client) for _ in range(scenario.concurrent))))

        return asyncio.run(main())

    return run


async def _httpx_async_post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> int:
    return (await client.post(url, content=body, headers=headers)).status_code


async def _aiohttp_post(client: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> int:
    async with client.post(url, data=body, headers=headers) as answer:
        await answer.read()
        return answer.status


CLIENTS: dict[str, Callable[..., list[int | str]]] = {
    "requests functions": _requests_functions(),
    "requests Session": _requests_session(requests.Session),
    "requests Session + Retry": _requests_session(_retrying_session),
    "httpx sync": _httpx_sync(lambda: None),
    "httpx sync, HTTPTransport(retries=2)": _httpx_sync(lambda: httpx.HTTPTransport(retries=2)),
    "httpx async": _async_client(_httpx_async_post, lambda t: httpx.AsyncClient(timeout=t)),
    "httpx async, AsyncHTTPTransport(retries=2)": _async_client(
        _httpx_async_post,
        lambda t: httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(retries=2), timeout=t),
    ),
    "aiohttp": _async_client(
        _aiohttp_post, lambda t: aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=t))
    ),
}


# --- where each runs ---------------------------------------------------------------------------


@dataclass
class Where:
    name: str
    url: str
    fake: MarketapMock
    #: what routes the vendor's URL into the fake for the call (in process only)
    routes: Callable[[], Any] | None = None


@pytest.fixture(scope="module")
def places() -> Iterator[dict[str, Where]]:
    backend = Backend()
    app = create_app(backend=backend)
    in_process = Where(
        "in process",
        spec.BASE_URL,
        MarketapMock(
            url=spec.BASE_URL,
            api_key=DEFAULT_API_KEY,
            project_id=DEFAULT_PROJECT_ID,
            source=BackendSource(backend),
            mode="inprocess",
        ),
        routes=lambda: InProcess(app),
    )
    with LiveServer(Backend()) as werkzeug, serving("--quiet") as (granian_url, _proc):
        yield {
            "in process": in_process,
            "werkzeug": _live("werkzeug", werkzeug.url),
            "granian": _live("granian", granian_url),
        }


def _live(name: str, url: str) -> Where:
    fake = MarketapMock(
        url=url, api_key=DEFAULT_API_KEY, project_id=DEFAULT_PROJECT_ID, source=HttpSource(url), mode="live"
    )
    return Where(name, url, fake)


@dataclass(frozen=True)
class Seen:
    """What a client saw of one scenario, and what the fake kept of it."""

    results: list[int | str]
    answered: list[int]
    stored: int
    marks_passed: int


def _run(where: Where, client: Callable[..., list[int | str]], scenario: Scenario) -> Seen:
    where.fake.reset()
    where.fake.clear_faults()
    scenario.arrange(where.fake)
    routes = where.routes().start() if where.routes else None
    try:
        started = time.monotonic()
        results = client(where.url + PATH, scenario)
        elapsed = time.monotonic() - started
    finally:
        if routes is not None:
            routes.stop()
    return Seen(
        results=sorted(results, key=str),
        answered=sorted(r.status for r in where.fake.requests),
        stored=len(where.fake.events),
        marks_passed=sum(elapsed >= mark for mark in scenario.marks),
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("client", CLIENTS)
def test_in_process_is_the_wire(places: dict[str, Where], client: str, scenario: str) -> None:
    case = SCENARIOS[scenario]
    seen = {name: _run(places[name], CLIENTS[client], case) for name in ("in process", *case.servers)}
    for server in case.servers:
        assert seen["in process"] == seen[server], (
            f"{client}, {scenario}: in process {seen['in process']} but on {server} {seen[server]}"
        )
