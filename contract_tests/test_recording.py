"""Recorded traffic as regression tests: each exchange of ``--marketap-recording FILE`` is sent
again, and the server must agree with what the upstream answered when it was recorded (both
accept, or both refuse). Collected only when a recording is given."""

from __future__ import annotations

import pytest

from contract_tests.conftest import Contract, Record
from mockserver.recording import Exchange
from mockserver.replay import judge, request_for
from pytest_plugin.plugin import RECORDED


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "exchange" in metafunc.fixturenames:
        exchanges = metafunc.config.stash.get(RECORDED, [])
        metafunc.parametrize("exchange", exchanges, ids=[e.name for e in exchanges])


def test_recorded(contract: Contract, exchange: Exchange) -> None:
    __tracebackhide__ = True
    reason = exchange.not_compared
    if reason is not None:
        pytest.skip(f"not compared: {reason}")
    target = contract.target
    sent = request_for(exchange, api_key=target.api_key, project_id=target.project_id)
    response = contract.client.request(
        sent.method, sent.path, params=list(sent.query), headers=sent.headers, content=sent.body
    )
    outcome = judge(exchange, response.status_code, response.content)
    who = "upstream" if exchange.proxied else "recorded fake"
    contract.records.append(
        Record(
            test=contract.node.nodeid,
            case=f"recorded #{exchange.index} {exchange.path}",
            evidence="RECORDED",
            expected=f"{exchange.expected} ({who})",
            observed=str(response.status_code),
            verdict="pass" if outcome.verdict == "agree" else "fail",
        )
    )
    if outcome.verdict == "disagree":
        raise AssertionError(f"recorded exchange disagrees: {outcome.describe()}")
