"""Generated payloads (the toolkit's Hypothesis strategies): valid ones pass, invalid ones fail."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_tests.bodies import CREATING, own
from contract_tests.conftest import Contract
from mockserver import spec
from pytest_plugin import strategies as ms

# The contract fixture is per test, and the examples below share it on purpose: each example's
# verdict is recorded, and nothing needs resetting between them (only statuses are compared).
# The seed is the run's (see conftest.py), and no example database replays other runs' cases:
# the same seed draws the same cases everywhere.
_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize("path", CREATING)
@_SETTINGS
@given(data=st.data())
def test_generated_valid_bodies_are_accepted(contract: Contract, path: str, data: st.DataObject) -> None:
    body = own(data.draw(ms.valid_bodies(path, max_size=50)))
    contract.expect(contract.post(path, body), 202, case=f"{path}: a generated valid body")


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize("path", spec.PATHS)
@_SETTINGS
@given(data=st.data())
def test_generated_invalid_bodies_are_rejected(contract: Contract, path: str, data: st.DataObject) -> None:
    case = data.draw(ms.invalid_bodies(path))
    response = contract.post(path, raw=case.content())  # the exact bytes the case labels
    contract.expect(response, case.status, case=f"{path}: {case.reason}")


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("path", spec.PATHS)
@_SETTINGS
@given(data=st.data())
def test_generated_invalid_requests_are_rejected(contract: Contract, path: str, data: st.DataObject) -> None:
    target = contract.target
    case = data.draw(ms.invalid_requests(path, api_key=target.api_key, project_id=target.project_id))
    response = contract.post(path, own(case.body), headers=case.headers, query=case.query, method=case.method)
    contract.expect(response, case.status, case=f"{path}: {case.reason}")
