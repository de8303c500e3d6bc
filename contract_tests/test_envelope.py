"""The error envelope: the vendor's texts (CONFIRMED) in {code, message, data} (INFERRED)."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.bodies import VALID
from contract_tests.conftest import Contract
from mockserver import spec


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize(
    ("case", "status", "kwargs"),
    [
        ("401", 401, {"headers": {"Content-Type": "application/json"}}),
        ("400", 400, {"body": {"events": [{"name": 1}]}}),
        ("415", 415, {"headers": {"Authorization": "Bearer {key}", "Content-Type": "text/plain"}}),
    ],
)
def test_errors_use_the_envelope(contract: Contract, case: str, status: int, kwargs: dict[str, Any]) -> None:
    if "headers" in kwargs:
        kwargs = {
            **kwargs,
            "headers": {k: v.format(key=contract.target.api_key) for k, v in kwargs["headers"].items()},
        }
    kwargs.setdefault("body", VALID[spec.EVENTS.path])
    response = contract.post(spec.EVENTS.path, **kwargs)
    contract.expect(response, status, case=f"{case} answer in the envelope")
    body = response.json()
    assert isinstance(body, dict) and body.get("code") == status and isinstance(body.get("message"), str)
    assert "data" in body


@pytest.mark.evidence("CONFIRMED")
@pytest.mark.parametrize("path", spec.PATHS)
def test_documented_400_messages(contract: Contract, path: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    response = contract.post(path, {"not": "it"})
    contract.expect(
        response, 400, case=f"{path}: the documented 400 message", message=endpoint.bad_request_message
    )


@pytest.mark.evidence("CHOSEN")
def test_every_violation_is_listed_with_its_field(contract: Contract) -> None:
    body = {
        "events": [
            {"user_id": "contract-test-u"},
            {"name": "x", "user_id": "contract-test-u", "timestamp": "nope"},
        ]
    }
    response = contract.post(spec.EVENTS.path, body)
    contract.expect(response, 400, case="two bad events: both listed", field="events[1].timestamp")
    assert [e["field"] for e in response.json()["errors"]] == ["events[0].name", "events[1].timestamp"]
