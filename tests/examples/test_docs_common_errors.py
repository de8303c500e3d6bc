from datetime import datetime

import pytest
import requests

API = "https://event.marketap.io/v1/api"
KEY = {"Authorization": "Bearer test-api-key"}
PROJECT = {"project_id": "test-project"}
NAIVE = datetime(2025, 1, 17, 14, 39, 22)  # no tzinfo: datetime.now() and Django with USE_TZ = False


def event(**fields):
    return {"events": [{"name": "mkt_purchase", "user_id": "u-1", **fields}]}


def profile(**properties):
    return {"profiles": [{"user_id": "u-1", "properties": properties}]}


# (what was sent, the field the fake names, how its reason starts)
CASES = {
    "no Authorization header": (
        {"json": event(), "headers": {}}, 401, "Authorization", "required: send 'Authorization: Bearer <api_key>'"),
    "no project_id": (
        {"json": event(), "params": {}}, 400, "project_id", "required: add ?project_id="),
    "no Content-Type": (
        {"data": '{"events": []}'}, 415, "Content-Type", "required: send 'Content-Type: application/json'"),
    "str(datetime)": (
        {"json": event(timestamp=str(NAIVE))}, 400, "events[0].timestamp", "a space separates the date and the time"),
    "a naive isoformat()": (
        {"json": event(timestamp=NAIVE.isoformat())}, 400, "events[0].timestamp",
        "not a date-time in the required form"),
    "epoch seconds": (
        {"json": event(timestamp=1737092362)}, 400, "events[0].timestamp", "must be a string"),
    "consent as the string 'false'": (
        {"json": profile(mkt_kakao_opt_in="false"), "path": "/profile/user"}, 400,
        "profiles[0].properties.mkt_kakao_opt_in", "must be a boolean"),
    "birthday with slashes": (
        {"json": profile(mkt_birth="1990/01/17"), "path": "/profile/user"}, 400,
        "profiles[0].properties.mkt_birth", "not a date in the form YYYY-MM-DD"),
    "revenue as a string": (
        {"json": event(properties={"mkt_revenue": "39000"})}, 400, "events[0].properties.mkt_revenue",
        "must be a number"),
    "points as 1.0": (
        {"json": profile(mkt_available_points=1.0), "path": "/profile/user"}, 400,
        "profiles[0].properties.mkt_available_points", "must be an integer"),
    "an event without user_id": (
        {"json": {"events": [{"name": "mkt_login"}]}}, 400, "events[0].user_id", "required"),
    "an empty batch": (
        {"json": {"events": []}}, 400, "events", "must not be empty"),
    "1,001 events in one call": (
        {"json": {"events": [{"name": "mkt_login", "user_id": "u-1"}] * 1001}}, 400, "events",
        "at most 1000 items allowed"),
    "the list without its key": (
        {"json": [{"name": "mkt_login", "user_id": "u-1"}]}, 400, "body", "must be a JSON object"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_common_mistake_is_named(marketap_inprocess, case):
    sent, status, field, reason = CASES[case]
    sent = dict(sent)
    path = sent.pop("path", "/events")
    sent.setdefault("headers", KEY)
    sent.setdefault("params", PROJECT)

    response = requests.post(f"{API}{path}", timeout=5, **sent)

    assert response.status_code == status
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert error["reason"].startswith(reason), error["reason"]
    assert marketap_inprocess.events == [] and marketap_inprocess.profiles == {}  # nothing stored


def test_a_misspelt_reserved_key_is_a_warning(marketap_inprocess):
    item = {"mkt_product_id": "p-1", "mkt_qty": 2}
    response = requests.post(f"{API}/events", params=PROJECT, headers=KEY, timeout=5,
                             json=event(properties={"mkt_items": [item]}))

    assert response.status_code == 202  # accepted: the real service would not say a word
    assert marketap_inprocess.requests[0].warnings == [
        "events[0].properties.mkt_items[0].mkt_qty: unknown reserved key (did you mean mkt_quantity?)"
    ]
    with pytest.raises(AssertionError, match="mkt_qty"):
        marketap_inprocess.assert_no_warnings()
