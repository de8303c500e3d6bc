"""What only the fake can show: its journal, its state and its settings, over HTTP at /_mock/.

Each endpoint's effect on what is stored has a check here; so has each setting that changes
what is accepted. None of this is sent to the real service (the checks are skipped there).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from contract_tests.bodies import DEVICE, DEVICE_ITEM, EVENT, PREFIX, PROFILE, USER, VALID
from contract_tests.conftest import Contract
from mockserver import spec

pytestmark = [pytest.mark.fake_only, pytest.mark.evidence("CHOSEN")]

OTHER = f"{PREFIX}user-2"
OTHER_DEVICE = f"app_local_id:{PREFIX}device-2"


def _mock(contract: Contract, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = httpx.request(
        method,
        f"{contract.target.url}/_mock/{path}",
        json=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    response.raise_for_status()
    answer: dict[str, Any] = response.json() if response.content else {}
    return answer


def _get(contract: Contract, what: str) -> Any:
    answer = _mock(contract, "GET", f"{what}?project_id={contract.target.project_id}")
    return answer[what.replace("-", "_")]


def _configure(contract: Contract, **settings: Any) -> None:
    _mock(contract, "PATCH", "settings", settings)


def _send(contract: Contract, path: str, body: Any, status: int = 202, case: str = "") -> httpx.Response:
    response = contract.post(path, body)
    contract.expect(response, status, case=case or f"{path}: {json.dumps(body)[:60]}")
    return response


# --- the journal --------------------------------------------------------------------------------


def test_accepted_and_rejected_requests_are_journaled(contract: Contract) -> None:
    _send(contract, spec.EVENTS.path, VALID[spec.EVENTS.path], case="journal: accepted")
    _send(contract, spec.EVENTS.path, {"events": [{"name": 1}]}, 400, case="journal: rejected")
    contract.expect(
        contract.post(
            spec.EVENTS.path, VALID[spec.EVENTS.path], headers={"Content-Type": "application/json"}
        ),
        401,
        case="journal: unauthorized",
    )
    requests = _get(contract, "requests")
    assert [r["status"] for r in requests] == [202, 400, 401]
    assert requests[1]["errors"] and requests[1]["errors"][0]["field"] == "events[0].name"
    assert requests[0]["json"] == VALID[spec.EVENTS.path]
    assert requests[0]["path"] == spec.EVENTS.path


def test_the_journal_never_shows_the_key(contract: Contract) -> None:
    _send(contract, spec.EVENTS.path, VALID[spec.EVENTS.path])
    text = json.dumps(_mock(contract, "GET", "requests"))
    assert contract.target.api_key not in text


def test_unknown_fields_are_journaled_as_warnings(contract: Contract) -> None:
    _send(contract, spec.EVENTS.path, {"events": [{**EVENT, "colour": 1}], "device": {}})
    _send(contract, spec.PROFILES.path, {"profiles": [{**PROFILE, "properties": {"mkt_emial": "a@b.c"}}]})
    first, second = (r["warnings"] for r in _get(contract, "requests"))
    assert any("device" in w for w in first) and any("colour" in w for w in first), first
    assert any("mkt_emial" in w and "mkt_email" in w for w in second), second


# --- profiles -----------------------------------------------------------------------------------


def test_profiles_merge_key_by_key_and_the_last_write_wins(contract: Contract) -> None:
    _send(contract, spec.PROFILES.path, {"profiles": [{"user_id": USER, "properties": {"a": 1, "b": 1}}]})
    _send(
        contract,
        spec.PROFILES.path,
        {
            "profiles": [
                {"user_id": USER, "properties": {"b": 2, "c": 2, "a": None}},
                {"user_id": OTHER},
                {"user_id": USER, "properties": {"c": 3}},
            ]
        },
    )
    assert _get(contract, "profiles") == {USER: {"a": 1, "b": 2, "c": 3}, OTHER: {}}


@pytest.mark.parametrize("path", [spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path])
def test_a_refused_batch_stores_nothing(contract: Contract, path: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    good = VALID[path][endpoint.key][0]
    _send(contract, path, {endpoint.key: [good, {}]}, 400)
    assert not _get(contract, endpoint.key)


# --- events -------------------------------------------------------------------------------------


def test_events_are_stored_as_accepted_in_arrival_order(contract: Contract) -> None:
    first = {**EVENT, "name": "first", "properties": {"mkt_revenue": 1.5, "nested": {"a": [1]}}}
    second = {"name": "second", "user_id": OTHER}
    _send(contract, spec.EVENTS.path, {"events": [first, second]})
    _send(contract, spec.EVENTS.path, {"events": [second]})
    assert _get(contract, "events") == [first, second, second]


def test_events_are_stored_once_per_id(contract: Contract) -> None:
    event = {**EVENT, "id": "contract-test-evt-1"}
    _send(contract, spec.EVENTS.path, {"events": [event, event]}, case="a repeated event id")
    _send(
        contract,
        spec.EVENTS.path,
        {"events": [{**event, "name": "again"}, {**event, "id": "contract-test-evt-2"}]},
    )
    stored = _get(contract, "events")
    assert [(e["id"], e["name"]) for e in stored] == [
        ("contract-test-evt-1", EVENT["name"]),
        ("contract-test-evt-2", EVENT["name"]),
    ]


def test_the_last_of_duplicate_keys_is_what_is_stored(contract: Contract) -> None:
    raw = '{"events": [{"name": "early", "user_id": "USER", "name": "late"}]}'.replace("USER", USER).encode()
    contract.expect(contract.post(spec.EVENTS.path, raw=raw), 202, case="a duplicate key")
    assert [e["name"] for e in _get(contract, "events")] == ["late"]
    assert any("name" in w for w in _get(contract, "requests")[0]["warnings"])


# --- devices ------------------------------------------------------------------------------------


def test_devices_are_stored_mapped_and_unmapped(contract: Contract) -> None:
    device = {**DEVICE_ITEM, "token": "contract-test-token", "properties": {"opt_in": True}}
    _send(contract, spec.DEVICES.path, {"devices": [device, {"device_id": OTHER_DEVICE, "platform": "ios"}]})
    stored = _get(contract, "devices")
    assert set(stored) == {DEVICE, OTHER_DEVICE}
    assert stored[DEVICE]["user_id"] == USER and stored[DEVICE]["platform"] == "android"
    assert stored[DEVICE]["token"] == "contract-test-token" and stored[DEVICE]["properties"] == {
        "opt_in": True
    }
    assert stored[OTHER_DEVICE].get("user_id") is None and stored[OTHER_DEVICE]["platform"] == "ios"
    # a later write without user_id keeps the mapping, and merges properties
    _send(
        contract,
        spec.DEVICES.path,
        {"devices": [{"device_id": DEVICE, "platform": "android", "properties": {"x": 1}}]},
    )
    stored = _get(contract, "devices")
    assert stored[DEVICE]["user_id"] == USER and stored[DEVICE]["properties"] == {"opt_in": True, "x": 1}
    # the device moves to another user, then is unmapped
    _send(contract, spec.DEVICES.path, {"devices": [{**DEVICE_ITEM, "user_id": OTHER}]})
    assert _get(contract, "devices")[DEVICE]["user_id"] == OTHER
    _send(
        contract,
        spec.DEVICES.path,
        {"devices": [{"device_id": DEVICE, "platform": "android", "remove_user_id": True}]},
    )
    assert _get(contract, "devices")[DEVICE].get("user_id") is None
    _send(contract, spec.DEVICES.path, {"devices": [{**DEVICE_ITEM, "remove_user_id": False}]})
    assert _get(contract, "devices")[DEVICE]["user_id"] == USER


# --- deletion -----------------------------------------------------------------------------------


def _users_data(contract: Contract) -> None:
    """Profiles, events and device mappings for USER and OTHER."""
    _send(contract, spec.PROFILES.path, {"profiles": [PROFILE, {"user_id": OTHER, "properties": {"k": 1}}]})
    _send(contract, spec.EVENTS.path, {"events": [EVENT, {**EVENT, "user_id": OTHER}, EVENT]})
    _send(
        contract,
        spec.DEVICES.path,
        {"devices": [DEVICE_ITEM, {"device_id": OTHER_DEVICE, "platform": "ios", "user_id": OTHER}]},
    )


@pytest.mark.deletes
@pytest.mark.parametrize(
    ("case", "path", "body"),
    [
        ("single", spec.DELETION.path, {"user_id": USER}),
        ("bulk", spec.BULK_DELETION.path, {"user_ids": [USER, USER]}),
    ],
)
def test_a_deletion_job_is_recorded_then_removes_the_users_data(
    contract: Contract, case: str, path: str, body: dict[str, Any]
) -> None:
    _configure(contract, deletion_jobs="manual")
    _users_data(contract)
    _send(contract, path, body, case=f"{case} deletion")
    (job,) = _get(contract, "deletion-jobs")
    assert job["user_ids"] == [USER] and job["status"] == "pending" and job["completed_at"] is None
    assert USER in _get(contract, "profiles")  # nothing goes before the job completes
    _mock(contract, "POST", "deletion-jobs/complete", {})
    (job,) = _get(contract, "deletion-jobs")
    assert job["status"] == "completed" and job["completed_at"]
    assert job["removed"] == {"profiles": 1, "device_mappings": 1, "events": 2}
    assert _get(contract, "profiles") == {OTHER: {"k": 1}}
    assert [e["user_id"] for e in _get(contract, "events")] == [OTHER]
    devices = _get(contract, "devices")
    assert devices[DEVICE].get("user_id") is None and devices[OTHER_DEVICE]["user_id"] == OTHER


@pytest.mark.deletes
def test_bulk_deletion_removes_every_user_named(contract: Contract) -> None:
    _users_data(contract)
    _send(contract, spec.BULK_DELETION.path, {"user_ids": [USER, OTHER, f"{PREFIX}nobody"]})
    (job,) = _get(contract, "deletion-jobs")
    assert job["status"] == "completed" and job["removed"] == {
        "profiles": 2,
        "device_mappings": 2,
        "events": 3,
    }
    assert not _get(contract, "profiles") and not _get(contract, "events")
    assert all(d.get("user_id") is None for d in _get(contract, "devices").values())


@pytest.mark.deletes
def test_a_delayed_job_completes_on_the_fakes_clock(contract: Contract) -> None:
    _configure(contract, deletion_job_delay=60)
    _users_data(contract)
    _send(contract, spec.DELETION.path, {"user_id": USER})
    _mock(contract, "POST", "clock/advance", {"seconds": 59})
    assert _get(contract, "deletion-jobs")[0]["status"] == "pending"
    assert USER in _get(contract, "profiles")
    _mock(contract, "POST", "clock/advance", {"seconds": 1})
    assert _get(contract, "deletion-jobs")[0]["status"] == "completed"
    assert USER not in _get(contract, "profiles")


@pytest.mark.deletes
def test_data_sent_after_a_completed_deletion_stays(contract: Contract) -> None:
    _users_data(contract)
    _send(contract, spec.DELETION.path, {"user_id": USER})
    _send(contract, spec.PROFILES.path, {"profiles": [{"user_id": USER, "properties": {"back": True}}]})
    assert _get(contract, "profiles")[USER] == {"back": True}


# --- settings that change what is accepted ------------------------------------------------------


def test_a_lowered_batch_limit_is_exact(contract: Contract) -> None:
    _configure(contract, max_batch_items=3)
    for path in (spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path):
        endpoint = spec.endpoint_for(path)
        assert endpoint is not None
        item = VALID[path][endpoint.key][0]
        _send(contract, path, {endpoint.key: [item] * 3})
        response = _send(contract, path, {endpoint.key: [item] * 4}, 400)
        assert endpoint.key in [e["field"] for e in response.json()["errors"]]


def test_a_lowered_body_limit_is_exact(contract: Contract) -> None:
    raw = json.dumps(VALID[spec.EVENTS.path]).encode()
    _configure(contract, max_body_bytes=len(raw))
    contract.expect(contract.post(spec.EVENTS.path, raw=raw), 202, case="a body at the limit")
    contract.expect(contract.post(spec.EVENTS.path, raw=raw + b" "), 413, case="a byte over the limit")


@pytest.mark.parametrize(
    ("settings", "body", "field"),
    [
        ({"max_string_length": 25}, {"events": [{**EVENT, "name": "n" * 26}]}, "events[0].name"),
        (
            {"max_properties": 2},
            {"events": [{**EVENT, "properties": {"a": 1, "b": 2, "c": 3}}]},
            "events[0].properties",
        ),
    ],
)
def test_lowered_size_limits_are_exact(
    contract: Contract, settings: dict[str, Any], body: Any, field: str
) -> None:
    _configure(contract, **settings)
    response = _send(contract, spec.EVENTS.path, body, 400)
    assert field in [e["field"] for e in response.json()["errors"]]
    item = body["events"][0]
    at_limit = (
        {**item, "name": "n" * 25}
        if "max_string_length" in settings
        else {**item, "properties": {"a": 1, "b": 2}}
    )
    _send(contract, spec.EVENTS.path, {"events": [at_limit]})


def test_a_lowered_depth_limit_is_exact(contract: Contract) -> None:
    _configure(contract, max_depth=6)
    _send(contract, spec.EVENTS.path, {"events": [{**EVENT, "properties": {"a": [[1]]}}]})
    _send(contract, spec.EVENTS.path, {"events": [{**EVENT, "properties": {"a": [[[1]]]}}]}, 400)


@pytest.mark.parametrize(
    ("settings", "path", "body"),
    [
        ({"allow_empty_batches": True}, spec.EVENTS.path, {"events": []}),
        (
            {"allow_naive_timestamps": True},
            spec.EVENTS.path,
            {"events": [{**EVENT, "timestamp": "2025-01-17T05:39:22"}]},
        ),
        (
            {"timestamp_format": "iso8601"},
            spec.EVENTS.path,
            {"events": [{**EVENT, "timestamp": "20250117T053922+0900"}]},
        ),
        ({"require_event_user_id": False}, spec.EVENTS.path, {"events": [{"name": "mkt_login"}]}),
        (
            {"check_reserved_properties": False},
            spec.PROFILES.path,
            {"profiles": [{**PROFILE, "properties": {"mkt_kakao_opt_in": "false"}}]},
        ),
        ({"reject_control_characters": False}, spec.EVENTS.path, {"events": [{**EVENT, "name": "a\x01"}]}),
    ],
)
def test_each_relaxing_setting_relaxes_its_rule(
    contract: Contract, settings: dict[str, Any], path: str, body: Any
) -> None:
    _send(contract, path, body, 400, case=f"strict by default: {settings}")
    _configure(contract, **settings)
    _send(contract, path, body, 202, case=f"relaxed: {settings}")


def test_empty_user_ids_stay_refused_with_empty_batches_allowed(contract: Contract) -> None:
    _configure(contract, allow_empty_batches=True)
    _send(contract, spec.BULK_DELETION.path, {"user_ids": []}, 400)
    _send(contract, spec.DEVICES.path, {"devices": []})


def test_unknown_reserved_keys_can_be_refused(contract: Contract) -> None:
    body = {"profiles": [{**PROFILE, "properties": {"mkt_emial": "a@b.c"}}]}
    _send(contract, spec.PROFILES.path, body, 202)
    _configure(contract, reject_unknown_reserved=True)
    response = _send(contract, spec.PROFILES.path, body, 400)
    assert "profiles[0].properties.mkt_emial" in [e["field"] for e in response.json()["errors"]]


def test_with_a_processing_delay_accepted_data_is_pending_until_due(contract: Contract) -> None:
    """The page says events are processed asynchronously; the setting lets a test see a client
    that relies on reading its own write at once."""
    _configure(contract, processing_delay=60)
    _mock(contract, "POST", "clock/advance", {"seconds": 0})
    _send(contract, spec.EVENTS.path, {"events": [EVENT, EVENT]})
    _send(contract, spec.PROFILES.path, {"profiles": [PROFILE]})
    assert not _get(contract, "events") and not _get(contract, "profiles")
    pending = _mock(contract, "GET", f"pending?project_id={contract.target.project_id}")
    assert pending["total"] == 3
    assert [(p["kind"], p["items"]) for p in pending["pending"]] == [("events", 2), ("profiles", 1)]
    _mock(contract, "POST", "clock/advance", {"seconds": 60})
    assert len(_get(contract, "events")) == 2 and USER in _get(contract, "profiles")
    assert _get(contract, "pending") == []


@pytest.mark.parametrize("key", ["profiles", "events", "devices", "user_ids"])
def test_each_array_limit_can_be_set_on_its_own(contract: Contract, key: str) -> None:
    path = {e.key: e.path for e in spec.ENDPOINTS}[key]
    _configure(contract, max_batch_items=4, **{f"max_batch_{key}": 2})
    item = VALID[path][key][0]
    _send(contract, path, {key: [item] * 2}, case=f"{key}: 2 items under its own limit of 2")
    response = _send(contract, path, {key: [item] * 3}, 400, case=f"{key}: 3 items over its own limit")
    assert key in [e["field"] for e in response.json()["errors"]]
    other = "events" if key != "events" else "profiles"
    other_path = {e.key: e.path for e in spec.ENDPOINTS}[other]
    _send(contract, other_path, {other: [VALID[other_path][other][0]] * 4}, case=f"{other}: max_batch_items")
