"""The contract suite's harness: one HTTP client, a recorder of verdicts, safety rails.

By default the suite runs against the fake, started by the plugin's ``marketap_server``
fixture. ``--marketap-url/--marketap-api-key/--marketap-project-id`` (the plugin's own options)
point it at any server, the real service included. Everything here speaks HTTP only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_plugin import MarketapMock
from pytest_plugin.plugin import RECORDED

#: Every id the suite creates starts with this, so its data is easy to find and remove.
PREFIX = "contract-test-"
#: The generated checks' seed when none is given: every run draws the same cases, so a run
#: that fails fails again.
DEFAULT_SEED = 29
SEED_ENV = "MARKETAP_CONTRACT_SEED"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("marketap", "Marketap fake (marketap-mock)")
    group.addoption(
        "--marketap-report",
        metavar="PATH",
        default=None,
        help="write the contract suite's verdicts (case, expected, observed, verdict) as JSON to PATH",
    )
    group.addoption(
        "--marketap-allow-deletion",
        action="store_true",
        default=False,
        help="let the contract suite request deletion of its own contract-test- users on a real service",
    )
    group.addoption(
        "--marketap-seed",
        metavar="N",
        default=None,
        help=f"seed of the contract suite's generated checks (default: ${SEED_ENV}, then "
        f"--hypothesis-seed, then {DEFAULT_SEED}); the same seed draws the same cases",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fake_only: needs the fake's control plane; skipped elsewhere")
    config.addinivalue_line(
        "markers",
        "evidence(level): CONFIRMED by the vendor's docs, INFERRED from its SDKs, or CHOSEN by the fake "
        "(a failure against the real service of a non-CONFIRMED rule is the fake's guess being wrong)",
    )
    config.addinivalue_line(
        "markers", "deletes: requests deletion; on a real service needs --marketap-allow-deletion"
    )
    config.stash[_RECORDS] = []
    config.stash[_SEED] = _seed(config)


def _seed(config: pytest.Config) -> int:
    """The seed asked for (option, environment, Hypothesis's own option), else the default."""
    given = (
        config.getoption("marketap_seed", None)
        or os.environ.get(SEED_ENV)
        or config.getoption("hypothesis_seed", None)
    )
    if given is None or given == "":
        return DEFAULT_SEED
    try:
        return int(str(given).strip())
    except ValueError:
        raise pytest.UsageError(
            f"marketap: the contract seed must be a whole number, not {given!r}"
        ) from None


def pytest_report_header(config: pytest.Config) -> str:
    return f"marketap contract suite: generated checks seeded with {config.stash[_SEED]} (--marketap-seed N)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every generated check the run's seed: without one, Hypothesis draws new cases on
    each run, and a wrong fake could pass one run in three."""
    from hypothesis import seed

    for item in items:
        function: Any = getattr(item, "obj", None)
        if getattr(function, "is_hypothesis_test", False) and item.path.parent == Path(__file__).parent:
            seed(config.stash[_SEED])(function)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The recorded exchanges are tests only when a recording is given (the plugin reads it)."""
    if collection_path.name == "test_recording.py" and RECORDED not in config.stash:
        return True
    return None


@dataclass
class Record:
    test: str
    case: str
    evidence: str
    expected: str
    observed: str
    verdict: str


_RECORDS = pytest.StashKey[list[Record]]()
_SEED = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("marketap_report", None)
    if path:
        records = [asdict(r) for r in session.config.stash.get(_RECORDS, [])]
        report = {"seed": session.config.stash.get(_SEED, DEFAULT_SEED), "records": records}
        Path(path).write_text(json.dumps(report, indent=2, ensure_ascii=False))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # Printed even under -q: a failing run names the seed that makes it fail again.
    seed = config.stash.get(_SEED, DEFAULT_SEED)
    terminalreporter.write_line(
        f"marketap contract suite: seed {seed} (run again with --marketap-seed {seed})"
    )


@pytest.fixture(scope="session")
def has_control_plane(marketap_server: MarketapMock) -> bool:
    try:
        response = httpx.get(f"{marketap_server.url}/_mock/health", timeout=10)
        return response.status_code == 200 and response.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


@pytest.fixture(autouse=True)
def _safety(request: pytest.FixtureRequest, marketap_server: MarketapMock, has_control_plane: bool) -> None:
    if request.node.get_closest_marker("fake_only") and not has_control_plane:
        pytest.skip(f"fake only: {marketap_server.url} has no /_mock/ control plane to read state from")
    if (
        request.node.get_closest_marker("deletes")
        and not has_control_plane
        and not request.config.getoption("marketap_allow_deletion")
    ):
        pytest.skip(
            "requests deletion: pass --marketap-allow-deletion to let the suite delete its own test users"
        )


class Contract:
    """Sends requests and judges answers, recording each verdict for the parity report."""

    def __init__(
        self, target: MarketapMock, client: httpx.Client, records: list[Record], node: pytest.Item
    ) -> None:
        self.target = target
        self.client = client
        self.records = records
        self.node = node
        marker = node.get_closest_marker("evidence")
        self.evidence = str(marker.args[0]) if marker else "CHOSEN"

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: list[tuple[str, str]] | None = None,
        method: str = "POST",
    ) -> httpx.Response:
        content = (
            raw
            if raw is not None
            else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
        )
        params: list[tuple[str, str]] = (
            query if query is not None else [("project_id", self.target.project_id)]
        )
        return self.client.request(
            method,
            path,
            params=params,  # type: ignore[arg-type]  # a list of str pairs is accepted at run time
            headers=self.target.headers if headers is None else headers,
            content=content,
        )

    def expect(
        self,
        response: httpx.Response,
        status: int,
        *,
        case: str,
        message: str | None = None,
        field: str | None = None,
        evidence: str | None = None,
    ) -> None:
        """Judge ``response``: its status, and for errors the JSON envelope, message and field."""
        __tracebackhide__ = True
        problems = []
        if response.status_code != status:
            problems.append(f"status {response.status_code}, expected {status}")
        elif status == 202 and response.content:
            problems.append(f"a body on a 202: {response.content[:100]!r}")
        elif status >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
                problems.append(f"a body that is not JSON: {response.content[:100]!r}")
            if body is not None and message is not None and body.get("message") != message:
                problems.append(f"message {body.get('message')!r}, expected {message!r}")
            if body is not None and field is not None:
                fields = [e.get("field") for e in body.get("errors") or [] if isinstance(e, dict)]
                if field not in fields:
                    problems.append(f"errors name {fields}, expected {field!r}")
        expected = f"{status}" + (f" {message!r}" if message else "") + (f" at {field}" if field else "")
        self.records.append(
            Record(
                test=self.node.nodeid,
                case=case,
                evidence=evidence or self.evidence,
                expected=expected,
                observed=_observed(response),
                verdict="fail" if problems else "pass",
            )
        )
        if problems:
            raise AssertionError(
                f"contract: {case}: {'; '.join(problems)} (evidence: {evidence or self.evidence})"
            )


def _observed(response: httpx.Response) -> str:
    text = str(response.status_code)
    try:
        body = response.json()
    except ValueError:
        return text
    if isinstance(body, dict):
        if body.get("message"):
            text += f" {body['message']!r}"
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            text += f" at {errors[0].get('field')}"
    return text


@pytest.fixture(scope="session")
def http(marketap_server: MarketapMock) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=marketap_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def contract(
    marketap_server: MarketapMock, http: httpx.Client, request: pytest.FixtureRequest, has_control_plane: bool
) -> Iterator[Contract]:
    if has_control_plane:
        marketap_server.reset()
    yield Contract(marketap_server, http, request.config.stash[_RECORDS], request.node)
    if has_control_plane:
        # a fake-only check may change settings or the clock; the next check starts as the fake did
        marketap_server.restore()
