"""What only the fake can show: its journal and state, read through /_mock/ over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contract_tests.bodies import EVENT, USER, VALID
from contract_tests.conftest import Contract
from mockserver import spec

pytestmark = [pytest.mark.fake_only, pytest.mark.evidence("CHOSEN")]


def _get(contract: Contract, path: str) -> dict[str, Any]:
    response = httpx.get(f"{contract.target.url}/_mock/{path}", timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def test_accepted_and_rejected_requests_are_journaled(contract: Contract) -> None:
    contract.expect(contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path]), 202, case="journal: accepted")
    contract.expect(contract.post(spec.EVENTS.path, {"events": [{"name": 1}]}), 400, case="journal: rejected")
    statuses = [r["status"] for r in _get(contract, "requests")["requests"]]
    assert statuses == [202, 400]


def test_events_are_stored_once_per_id(contract: Contract) -> None:
    event = {**EVENT, "id": "contract-test-evt-1"}
    contract.expect(
        contract.post(spec.EVENTS.path, {"events": [event, event]}), 202, case="a repeated event id"
    )
    stored = _get(contract, f"events?project_id={contract.target.project_id}")["events"]
    assert [e["id"] for e in stored] == ["contract-test-evt-1"]


@pytest.mark.deletes
def test_deletion_removes_the_users_data(contract: Contract) -> None:
    contract.expect(
        contract.post(spec.PROFILES.path, VALID[spec.PROFILES.path]), 202, case="a profile to delete"
    )
    contract.expect(contract.post(spec.DELETION.path, {"user_id": USER}), 202, case="delete it")
    httpx.post(f"{contract.target.url}/_mock/deletion-jobs/complete", json={}, timeout=10).raise_for_status()
    assert USER not in _get(contract, f"profiles?project_id={contract.target.project_id}")["profiles"]
