"""The five bodies: required fields, types, limits, timestamps, reserved properties."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.bodies import EVENT, PROFILE, USER, VALID, batch_item
from contract_tests.conftest import Contract
from mockserver import spec

GOOD_TIMESTAMPS = [
    ("UTC with Z", "2025-01-17T05:39:22Z", "CONFIRMED"),
    ("offset +09:00", "2025-01-17T05:39:22+09:00", "CONFIRMED"),
    ("offset -03:30", "2025-01-17T05:39:22-03:30", "INFERRED"),
    ("milliseconds", "2025-01-17T05:39:22.123Z", "INFERRED"),
    ("nanoseconds", "2025-01-17T05:39:22.123456789+09:00", "CHOSEN"),
    ("a leap day", "2024-02-29T12:00:00Z", "INFERRED"),
]
BAD_TIMESTAMPS = [
    ("slashes and no seconds", "2025/01/17 05:39"),
    ("no time zone", "2025-01-17T05:39:22"),
    ("a space for T", "2025-01-17 05:39:22Z"),
    ("the basic form", "20250117T053922Z"),
    ("offset without colon", "2025-01-17T05:39:22+0900"),
    ("a date alone", "2025-01-17"),
    ("month 13", "2025-13-01T00:00:00Z"),
    ("February 30", "2025-02-30T00:00:00Z"),
    ("hour 24", "2025-01-17T24:00:00Z"),
    ("a digit string", "1700000000"),
    ("a number", 1700000000),
]


@pytest.mark.parametrize(("case", "stamp", "evidence"), GOOD_TIMESTAMPS)
def test_iso8601_timestamps_with_a_zone_are_accepted(
    contract: Contract, case: str, stamp: str, evidence: str
) -> None:
    response = contract.post(spec.EVENTS.path, {"events": [{**EVENT, "timestamp": stamp}]})
    contract.expect(response, 202, case=f"event timestamp: {case}", evidence=evidence)


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(("case", "stamp"), BAD_TIMESTAMPS)
def test_other_timestamps_are_400(contract: Contract, case: str, stamp: Any) -> None:
    response = contract.post(spec.EVENTS.path, {"events": [{**EVENT, "timestamp": stamp}]})
    contract.expect(response, 400, case=f"event timestamp: {case}", field="events[0].timestamp")
    response = contract.post(spec.PROFILES.path, {"profiles": [{**PROFILE, "timestamp": stamp}]})
    contract.expect(response, 400, case=f"profile timestamp: {case}", field="profiles[0].timestamp")


@pytest.mark.parametrize(
    ("path", "evidence"),
    [(spec.PROFILES.path, "CONFIRMED"), (spec.EVENTS.path, "CONFIRMED"), (spec.DEVICES.path, "INFERRED")],
)
def test_1000_items_pass_and_1001_fail(contract: Contract, path: str, evidence: str) -> None:
    key = spec.endpoint_for(path).key  # type: ignore[union-attr]
    response = contract.post(path, {key: [batch_item(path, i) for i in range(1000)]})
    contract.expect(response, 202, case=f"{path}: 1,000 items", evidence=evidence)
    response = contract.post(path, {key: [batch_item(path, i) for i in range(1001)]})
    contract.expect(response, 400, case=f"{path}: 1,001 items", field=key, evidence=evidence)


@pytest.mark.evidence("INFERRED")
@pytest.mark.deletes
def test_1000_user_ids_pass_and_1001_fail(contract: Contract) -> None:
    path = spec.BULK_DELETION.path
    response = contract.post(path, {"user_ids": [batch_item(path, i) for i in range(1000)]})
    contract.expect(response, 202, case="bulk deletion: 1,000 user ids")
    response = contract.post(path, {"user_ids": [batch_item(path, i) for i in range(1001)]})
    contract.expect(
        response, 400, case="bulk deletion: 1,001 user ids", field="user_ids", message="Invalid request."
    )


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(
    "key,path",
    [("profiles", spec.PROFILES.path), ("events", spec.EVENTS.path), ("devices", spec.DEVICES.path)],
)
def test_empty_batches_are_400(contract: Contract, key: str, path: str) -> None:
    contract.expect(contract.post(path, {key: []}), 400, case=f"{path}: empty {key}", field=key)


REQUIRED: list[tuple[str, str, Any, str, str]] = [
    ("CONFIRMED", spec.PROFILES.path, {}, "profiles", "profiles missing"),
    ("CONFIRMED", spec.PROFILES.path, {"users": [PROFILE]}, "profiles", "profiles under another name"),
    ("CONFIRMED", spec.DELETION.path, {}, "user_id", "user_id missing"),
    ("CONFIRMED", spec.DELETION.path, {"user_id": 12345}, "user_id", "user_id a number"),
    ("CONFIRMED", spec.BULK_DELETION.path, {}, "user_ids", "user_ids missing"),
    ("CONFIRMED", spec.BULK_DELETION.path, {"user_ids": []}, "user_ids", "user_ids empty (min 1)"),
    (
        "INFERRED",
        spec.BULK_DELETION.path,
        {"user_ids": [USER, 5]},
        "user_ids[1]",
        "a user id that is a number",
    ),
    ("CONFIRMED", spec.EVENTS.path, {"events": "x"}, "events", "events a string"),
    ("INFERRED", spec.EVENTS.path, {"events": [{"user_id": USER}]}, "events[0].name", "event without name"),
    (
        "INFERRED",
        spec.EVENTS.path,
        {"events": [{**EVENT, "name": 123}]},
        "events[0].name",
        "event name a number",
    ),
    ("INFERRED", spec.EVENTS.path, {"events": [{"name": "x"}]}, "events[0].user_id", "event without user_id"),
    (
        "INFERRED",
        spec.EVENTS.path,
        {"events": [{**EVENT, "properties": [1]}]},
        "events[0].properties",
        "properties an array",
    ),
    (
        "INFERRED",
        spec.PROFILES.path,
        {"profiles": [{"properties": {}}]},
        "profiles[0].user_id",
        "profile without user_id",
    ),
    (
        "INFERRED",
        spec.PROFILES.path,
        {"profiles": [{"user_id": ""}]},
        "profiles[0].user_id",
        "an empty user_id",
    ),
    (
        "INFERRED",
        spec.DEVICES.path,
        {"devices": [{"platform": "ios"}]},
        "devices[0].device_id",
        "device without id",
    ),
    (
        "INFERRED",
        spec.DEVICES.path,
        {"devices": [{"device_id": "app_local_id:contract-test-d", "platform": "windows"}]},
        "devices[0].platform",
        "an unknown platform",
    ),
]


@pytest.mark.parametrize(("evidence", "path", "body", "field", "case"), REQUIRED)
def test_required_and_typed_fields(
    contract: Contract, evidence: str, path: str, body: Any, field: str, case: str
) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    response = contract.post(path, body)
    contract.expect(
        response,
        400,
        case=f"{path}: {case}",
        field=field,
        message=endpoint.bad_request_message,
        evidence=evidence,
    )


RESERVED = [
    ("mkt_text_message_opt_in", "false"),
    ("mkt_kakao_opt_in", 1),
    ("mkt_birth", "1990-5-1"),
    ("mkt_available_points", 1.5),
    ("mkt_gender", "male"),
    ("mkt_cart", [{"mkt_quantity": "2"}]),
]


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize(("key", "value"), RESERVED)
def test_reserved_properties_of_the_wrong_type_are_400(contract: Contract, key: str, value: Any) -> None:
    body = {"profiles": [{"user_id": USER, "properties": {key: value}}]}
    response = contract.post(spec.PROFILES.path, body)
    contract.expect(response, 400, case=f"profile property {key}={value!r}")


@pytest.mark.evidence("INFERRED")
def test_reserved_properties_of_the_right_type_are_accepted(contract: Contract) -> None:
    from mockserver.openapi import EXAMPLES

    for path in (spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path):
        body = EXAMPLES[path]
        key = spec.endpoint_for(path).key  # type: ignore[union-attr]
        own = {key: [{**item, **({"user_id": USER} if "user_id" in item else {})} for item in body[key]]}
        contract.expect(contract.post(path, own), 202, case=f"{path}: the documented example")


@pytest.mark.evidence("CHOSEN")
def test_unknown_fields_are_accepted(contract: Contract) -> None:
    response = contract.post(spec.EVENTS.path, {"events": [{**EVENT, "extra": 1}], "device": {}})
    contract.expect(response, 202, case="unknown fields in the body and an event")


@pytest.mark.evidence("CONFIRMED")
@pytest.mark.deletes
def test_deletion_requests_are_202(contract: Contract) -> None:
    contract.expect(
        contract.post(spec.DELETION.path, VALID[spec.DELETION.path]), 202, case="request one user's deletion"
    )
    response = contract.post(spec.BULK_DELETION.path, VALID[spec.BULK_DELETION.path])
    contract.expect(response, 202, case="request bulk deletion")
