"""One hand-written check per rule the fake enforces, safe to send to the real service.

The generated checks (test_generated.py) add breadth; none of the rules rests on them alone.
Every body here uses only ``contract-test-`` ids, and every invalid one stores nothing.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from contract_tests.bodies import DEVICE_ITEM, EVENT, PROFILE, USER, VALID
from contract_tests.conftest import Contract
from mockserver import spec

BAD_REQUEST = spec.MESSAGES[400]
UNAUTHORIZED = spec.MESSAGES[401]


def _headers(contract: Contract, **changes: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {**contract.target.headers, **changes}
    return {k: v for k, v in headers.items() if v is not None}


# --- auth ---------------------------------------------------------------------------------------


@pytest.mark.evidence("CONFIRMED")
@pytest.mark.parametrize("path", spec.PATHS)
def test_a_key_not_issued_for_the_project_is_401(
    contract: Contract, path: str, request: pytest.FixtureRequest
) -> None:
    """The page asks for "a token valid for the project": a known key sent with another
    project's id is refused."""
    if getattr(request.config, "workerinput", None) is not None and contract.target.mode == "external":
        pytest.skip("a fake shared by pytest-xdist workers accepts any project on purpose (any_project)")
    query = [("project_id", f"{contract.target.project_id}-contract-test-other")]
    response = contract.post(path, VALID[path], query=query)
    contract.expect(response, 401, case=f"{path}: a key of another project", message=UNAUTHORIZED)


@pytest.mark.evidence("CONFIRMED")
@pytest.mark.parametrize(
    ("case", "authorization"),
    [
        ("the key with no scheme", "{key}"),
        ("the key after 'Bearer' with no space", "Bearer{key}"),
        ("Bearer and a key one character short", "Bearer {short}"),
        ("Bearer and the key with a character more", "Bearer {key}x"),
        ("an empty header", ""),
    ],
)
def test_malformed_authorization_is_401(contract: Contract, case: str, authorization: str) -> None:
    key = contract.target.api_key
    value = authorization.format(key=key, short=key[:-1])
    response = contract.post(
        spec.EVENTS.path, VALID[spec.EVENTS.path], headers=_headers(contract, Authorization=value)
    )
    contract.expect(response, 401, case=case, message=UNAUTHORIZED)


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("path", spec.PATHS)
def test_every_401_names_authorization_and_the_bearer_scheme(contract: Contract, path: str) -> None:
    response = contract.post(
        path, VALID[path], headers=_headers(contract, Authorization="Bearer contract-test-no")
    )
    contract.expect(response, 401, case=f"{path}: unknown key", field="Authorization", message=UNAUTHORIZED)
    assert response.headers.get("WWW-Authenticate", "").split(" ", 1)[0].lower() == "bearer"


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize(
    ("case", "changes", "raw"),
    [
        ("and text/plain", {"Content-Type": "text/plain"}, None),
        ("and a body that is not JSON", {}, b"{not json"),
        ("and an invalid body", {}, json.dumps({"events": [{"name": 1}]}).encode()),
    ],
)
def test_auth_is_checked_before_everything_else(
    contract: Contract, case: str, changes: dict[str, str], raw: bytes | None
) -> None:
    headers = _headers(contract, Authorization=None, **changes)
    response = contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], raw=raw, headers=headers)
    contract.expect(response, 401, case=f"no Authorization {case}: 401 first", message=UNAUTHORIZED)


# --- project_id ---------------------------------------------------------------------------------


@pytest.mark.evidence("CONFIRMED")
@pytest.mark.parametrize("path", spec.PATHS)
def test_a_missing_project_id_has_the_documented_message(contract: Contract, path: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    for case, query in (("missing", []), ("empty", [("project_id", "")])):
        response = contract.post(path, VALID[path], query=query)
        contract.expect(
            response, 400, case=f"{path}: project_id {case}", message=endpoint.bad_request_message
        )


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("path", spec.PATHS)
def test_a_repeated_project_id_is_400_on_every_path(contract: Contract, path: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    project = contract.target.project_id
    response = contract.post(path, VALID[path], query=[("project_id", project)] * 2)
    contract.expect(
        response,
        400,
        case=f"{path}: project_id twice",
        field="project_id",
        message=endpoint.bad_request_message,
    )


@pytest.mark.evidence("INFERRED")
def test_project_id_is_checked_before_the_content_type_and_body(contract: Contract) -> None:
    headers = _headers(contract, **{"Content-Type": "text/plain"})
    response = contract.post(spec.EVENTS.path, raw=b"{not json", headers=headers, query=[])
    contract.expect(
        response, 400, case="no project_id, text/plain, bad JSON: project_id first", field="project_id"
    )


# --- content type, encoding, size ---------------------------------------------------------------


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(
    "content_type",
    [
        "APPLICATION/JSON",
        "Application/Json; Charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json;charset=utf8",
    ],
)
def test_json_content_types_in_any_case_are_accepted(contract: Contract, content_type: str) -> None:
    headers = _headers(contract, **{"Content-Type": content_type})
    response = contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers)
    contract.expect(response, 202, case=f"Content-Type {content_type}")


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=latin-1", "application/jsonp", "text/json", "application/json5"],
)
def test_near_json_content_types_are_415(contract: Contract, content_type: str) -> None:
    headers = _headers(contract, **{"Content-Type": content_type})
    response = contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers)
    contract.expect(
        response, 415, case=f"Content-Type {content_type}", field="Content-Type", message=spec.MESSAGES[415]
    )


@pytest.mark.evidence("CHOSEN")
def test_the_content_type_is_checked_before_the_body(contract: Contract) -> None:
    headers = _headers(contract, **{"Content-Type": "text/plain"})
    response = contract.post(spec.EVENTS.path, raw=b"{not json", headers=headers)
    contract.expect(response, 415, case="text/plain and bad JSON: 415 first", field="Content-Type")


@pytest.mark.evidence("CHOSEN")
def test_gzip_bodies_are_read(contract: Contract) -> None:
    raw = gzip.compress(json.dumps(VALID[spec.EVENTS.path]).encode())
    headers = _headers(contract, **{"Content-Encoding": "gzip"})
    contract.expect(contract.post(spec.EVENTS.path, raw=raw, headers=headers), 202, case="a gzip body")
    headers = _headers(contract, **{"Content-Encoding": "identity"})
    contract.expect(
        contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers), 202, case="identity"
    )
    response = contract.post(
        spec.EVENTS.path, raw=raw[:-8], headers=_headers(contract, **{"Content-Encoding": "gzip"})
    )
    contract.expect(response, 400, case="truncated gzip data", field="body", message=BAD_REQUEST)


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("encoding", ["br", "deflate", "compress"])
def test_other_content_encodings_are_415(contract: Contract, encoding: str) -> None:
    headers = _headers(contract, **{"Content-Encoding": encoding})
    response = contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers)
    contract.expect(response, 415, case=f"Content-Encoding {encoding}", field="Content-Encoding")


# --- JSON values --------------------------------------------------------------------------------

_EVENT_TEXT = '{"events": [{"name": "mkt_login", "user_id": "USER", "properties": {"v": VALUE}}]}'


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e400 (past a double)", "1e400"),
        ("a lone surrogate escape", '"\\ud800"'),
        ("a NUL escape", '"a\\u0000b"'),
        ("a control character escape", '"a\\u001fb"'),
    ],
)
def test_values_json_cannot_carry_are_400(contract: Contract, case: str, value: str) -> None:
    response = contract.post(
        spec.EVENTS.path, raw=_EVENT_TEXT.replace("USER", USER).replace("VALUE", value).encode()
    )
    contract.expect(response, 400, case=f"a property holding {case}", message=BAD_REQUEST)


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("tab, CR and LF", '"a\\tb\\r\\nc"'),
        ("1e308", "1e308"),
        ("a surrogate pair escape", '"\\ud83d\\ude00"'),
        ("DEL (not C0)", '"a\\u007fb"'),
        ("null", "null"),
    ],
)
def test_values_at_the_edge_are_accepted(contract: Contract, case: str, value: str) -> None:
    response = contract.post(
        spec.EVENTS.path, raw=_EVENT_TEXT.replace("USER", USER).replace("VALUE", value).encode()
    )
    contract.expect(response, 202, case=f"a property holding {case}")


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("path", [spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path])
def test_a_control_character_in_an_id_is_400(contract: Contract, path: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    item = {**VALID[path][endpoint.key][0]}
    name = "device_id" if path == spec.DEVICES.path else "user_id"
    item[name] = f"{item[name]}\x01"
    response = contract.post(path, {endpoint.key: [item]})
    contract.expect(response, 400, case=f"{path}: {name} with \\x01", field=f"{endpoint.key}[0].{name}")


@pytest.mark.evidence("CHOSEN")
def test_null_for_an_optional_field_means_absent(contract: Contract) -> None:
    event = {**EVENT, "timestamp": None, "id": None, "properties": None}
    contract.expect(contract.post(spec.EVENTS.path, {"events": [event]}), 202, case="optional fields null")
    device = {**DEVICE_ITEM, "token": None, "remove_user_id": None}
    contract.expect(contract.post(spec.DEVICES.path, {"devices": [device]}), 202, case="device fields null")


@pytest.mark.evidence("CHOSEN")
def test_null_for_a_required_field_is_400(contract: Contract) -> None:
    response = contract.post(spec.EVENTS.path, {"events": [{**EVENT, "name": None}]})
    contract.expect(response, 400, case="event name null", field="events[0].name")


@pytest.mark.evidence("CHOSEN")
def test_duplicate_keys_are_accepted(contract: Contract) -> None:
    raw = '{"events": [{"name": 1, "name": "mkt_login", "user_id": "USER"}]}'.replace("USER", USER).encode()
    contract.expect(contract.post(spec.EVENTS.path, raw=raw), 202, case="a duplicate key, the last valid")
    raw = '{"events": [{"name": "mkt_login", "name": 1, "user_id": "USER"}]}'.replace("USER", USER).encode()
    contract.expect(contract.post(spec.EVENTS.path, raw=raw), 400, case="a duplicate key, the last invalid")


# --- size limits (CHOSEN defaults) --------------------------------------------------------------


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.evidence("CHOSEN")
def test_strings_of_65536_characters_pass_and_65537_fail(contract: Contract) -> None:
    for size, status in ((spec.MAX_STRING_LENGTH, 202), (spec.MAX_STRING_LENGTH + 1, 400)):
        body = {"events": [{**EVENT, "properties": {"text": "가" * size}}]}
        response = contract.post(spec.EVENTS.path, body)
        contract.expect(
            response,
            status,
            case=f"a string of {size} characters",
            field=None if status == 202 else "events[0].properties.text",
        )
    body = {"events": [{**EVENT, "name": "n" * (spec.MAX_STRING_LENGTH + 1)}]}
    contract.expect(
        contract.post(spec.EVENTS.path, body), 400, case="a name too long", field="events[0].name"
    )


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("path", [spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path])
def test_1000_properties_pass_and_1001_fail(contract: Contract, path: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    item = VALID[path][endpoint.key][0]
    for count, status in ((spec.MAX_PROPERTIES, 202), (spec.MAX_PROPERTIES + 1, 400)):
        body = {endpoint.key: [{**item, "properties": {f"p{i}": i for i in range(count)}}]}
        field = None if status == 202 else f"{endpoint.key}[0].properties"
        contract.expect(contract.post(path, body), status, case=f"{path}: {count} properties", field=field)


@pytest.mark.evidence("CHOSEN")
def test_64_levels_of_nesting_pass_and_65_fail(contract: Contract) -> None:
    # body, events, the event and its properties are four levels
    for levels, status in ((spec.MAX_DEPTH, 202), (spec.MAX_DEPTH + 1, 400)):
        body = {"events": [{**EVENT, "properties": {"deep": _nested(levels - 4)}}]}
        contract.expect(contract.post(spec.EVENTS.path, body), status, case=f"{levels} levels of nesting")


# --- timestamps: the calendar and the clock ------------------------------------------------------

EDGE_TIMESTAMPS_GOOD = [
    ("a leap day of a year divisible by 400", "2000-02-29T00:00:00Z"),
    ("a leap day of 2024", "2024-02-29T23:59:59Z"),
    ("the last second of a day", "2025-12-31T23:59:59Z"),
    ("April 30", "2025-04-30T00:00:00Z"),
    ("lower-case t and z", "2025-01-17t05:39:22z"),
    ("the first year", "0001-01-01T00:00:00Z"),
    ("the last year", "9999-12-31T23:59:59Z"),
    ("offset +23:59", "2025-01-17T05:39:22+23:59"),
    ("offset -00:00", "2025-01-17T05:39:22-00:00"),
    ("one fraction digit", "2025-01-17T05:39:22.1Z"),
]
EDGE_TIMESTAMPS_BAD = [
    ("February 29 of a century year not divisible by 400", "1900-02-29T00:00:00Z"),
    ("February 29 of 2100", "2100-02-29T00:00:00Z"),
    ("February 29 of a common year", "2025-02-29T00:00:00Z"),
    ("April 31", "2025-04-31T00:00:00Z"),
    ("November 31", "2025-11-31T00:00:00Z"),
    ("day 00", "2025-01-00T00:00:00Z"),
    ("day 32", "2025-01-32T00:00:00Z"),
    ("month 00", "2025-00-10T00:00:00Z"),
    ("year 0000", "0000-01-01T00:00:00Z"),
    ("a five-digit year", "10000-01-01T00:00:00Z"),
    ("hour 25", "2025-01-17T25:00:00Z"),
    ("minute 60", "2025-01-17T05:60:00Z"),
    ("second 60", "2025-01-17T05:39:60Z"),
    ("no seconds", "2025-01-17T05:39Z"),
    ("offset +25:00", "2025-01-17T05:39:22+25:00"),
    ("offset +09:60", "2025-01-17T05:39:22+09:60"),
    ("offset +09", "2025-01-17T05:39:22+09"),
    ("a comma before the fraction", "2025-01-17T05:39:22,5Z"),
    ("a point and no fraction digits", "2025-01-17T05:39:22.Z"),
    ("one-digit month", "2025-1-17T05:39:22Z"),
    ("trailing text", "2025-01-17T05:39:22Zx"),
    ("a leading blank", " 2025-01-17T05:39:22Z"),
    ("an empty string", ""),
    ("true", True),
    ("an object", {"iso": "2025-01-17T05:39:22Z"}),
]


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(("case", "stamp"), EDGE_TIMESTAMPS_GOOD)
def test_timestamps_at_the_calendar_edges_are_accepted(contract: Contract, case: str, stamp: str) -> None:
    response = contract.post(spec.EVENTS.path, {"events": [{**EVENT, "timestamp": stamp}]})
    contract.expect(response, 202, case=f"event timestamp: {case}")
    response = contract.post(spec.PROFILES.path, {"profiles": [{**PROFILE, "timestamp": stamp}]})
    contract.expect(response, 202, case=f"profile timestamp: {case}")


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(("case", "stamp"), EDGE_TIMESTAMPS_BAD)
def test_impossible_or_other_timestamps_are_400(contract: Contract, case: str, stamp: Any) -> None:
    response = contract.post(spec.EVENTS.path, {"events": [{**EVENT, "timestamp": stamp}]})
    contract.expect(
        response, 400, case=f"event timestamp: {case}", field="events[0].timestamp", message=BAD_REQUEST
    )
    response = contract.post(spec.PROFILES.path, {"profiles": [{**PROFILE, "timestamp": stamp}]})
    contract.expect(response, 400, case=f"profile timestamp: {case}", field="profiles[0].timestamp")


# --- fields of each item ------------------------------------------------------------------------

FIELDS: list[tuple[str, dict[str, Any], str, str]] = [
    (spec.EVENTS.path, {"events": [{**EVENT, "name": ""}]}, "events[0].name", "an empty event name"),
    (spec.EVENTS.path, {"events": [{**EVENT, "user_id": ""}]}, "events[0].user_id", "an empty event user_id"),
    (spec.EVENTS.path, {"events": [{**EVENT, "user_id": 7}]}, "events[0].user_id", "a numeric user_id"),
    (spec.EVENTS.path, {"events": [{**EVENT, "id": 7}]}, "events[0].id", "a numeric event id"),
    (spec.EVENTS.path, {"events": [{**EVENT, "id": ""}]}, "events[0].id", "an empty event id"),
    (spec.EVENTS.path, {"events": ["mkt_login"]}, "events[0]", "an event that is a string"),
    (spec.EVENTS.path, {"events": {"0": EVENT}}, "events", "events an object"),
    (
        spec.PROFILES.path,
        {"profiles": [{**PROFILE, "user_id": 7}]},
        "profiles[0].user_id",
        "a numeric user_id",
    ),
    (
        spec.PROFILES.path,
        {"profiles": [{**PROFILE, "properties": "x"}]},
        "profiles[0].properties",
        "properties a string",
    ),
    (spec.PROFILES.path, {"profiles": "x"}, "profiles", "profiles a string"),
    (spec.PROFILES.path, {"profiles": [None]}, "profiles[0]", "a profile that is null"),
    (
        spec.DEVICES.path,
        {"devices": [{"device_id": DEVICE_ITEM["device_id"]}]},
        "devices[0].platform",
        "a device without platform",
    ),
    (
        spec.DEVICES.path,
        {"devices": [{**DEVICE_ITEM, "platform": "Android"}]},
        "devices[0].platform",
        "platform in capitals",
    ),
    (
        spec.DEVICES.path,
        {"devices": [{**DEVICE_ITEM, "device_id": ""}]},
        "devices[0].device_id",
        "an empty device_id",
    ),
    (
        spec.DEVICES.path,
        {"devices": [{**DEVICE_ITEM, "user_id": ""}]},
        "devices[0].user_id",
        "an empty device user_id",
    ),
    (spec.DEVICES.path, {"devices": [{**DEVICE_ITEM, "token": 5}]}, "devices[0].token", "a numeric token"),
    (
        spec.DEVICES.path,
        {"devices": [{**DEVICE_ITEM, "remove_user_id": "true"}]},
        "devices[0].remove_user_id",
        "remove_user_id a string",
    ),
    (
        spec.DEVICES.path,
        {"devices": [{**DEVICE_ITEM, "remove_user_id": 1}]},
        "devices[0].remove_user_id",
        "remove_user_id 1",
    ),
    (
        spec.DEVICES.path,
        {"devices": [{**DEVICE_ITEM, "properties": [1]}]},
        "devices[0].properties",
        "properties an array",
    ),
    (spec.DEVICES.path, {"devices": []}, "devices", "no devices"),
    (spec.DEVICES.path, {}, "devices", "devices missing"),
    (spec.EVENTS.path, {}, "events", "events missing"),
    (spec.DELETION.path, {"user_id": ""}, "user_id", "an empty user_id"),
    (spec.DELETION.path, {"user_id": [USER]}, "user_id", "user_id a list"),
    (spec.BULK_DELETION.path, {"user_ids": [USER, ""]}, "user_ids[1]", "an empty user id"),
    (spec.BULK_DELETION.path, {"user_ids": USER}, "user_ids", "user_ids a string"),
    (spec.BULK_DELETION.path, {"user_ids": None}, "user_ids", "user_ids null"),
]


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize(("path", "body", "field", "case"), FIELDS)
def test_each_field_is_checked(contract: Contract, path: str, body: Any, field: str, case: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    response = contract.post(path, body)
    contract.expect(response, 400, case=f"{path}: {case}", field=field, message=endpoint.bad_request_message)


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize("platform", spec.DEVICE_PLATFORMS)
def test_each_platform_and_every_device_field_is_accepted(contract: Contract, platform: str) -> None:
    device = {
        **DEVICE_ITEM,
        "platform": platform,
        "token": "contract-test-push-token",
        "remove_user_id": False,
        "properties": {"opt_in": True, "custom": [1, {"a": None}]},
    }
    contract.expect(contract.post(spec.DEVICES.path, {"devices": [device]}), 202, case=f"a {platform} device")


@pytest.mark.evidence("INFERRED")
def test_events_without_optional_fields_are_accepted(contract: Contract) -> None:
    body = {
        "events": [
            {"name": "mkt_login", "user_id": USER},
            {**EVENT, "id": "contract-test-e", "properties": {}},
        ]
    }
    contract.expect(contract.post(spec.EVENTS.path, body), 202, case="a bare event and a full one")
    contract.expect(
        contract.post(spec.PROFILES.path, {"profiles": [{"user_id": USER}]}), 202, case="a bare profile"
    )


# --- reserved properties ------------------------------------------------------------------------

RESERVED_BAD: list[tuple[str, str, Any]] = [
    ("profiles", "mkt_email_opt_in", "true"),
    ("profiles", "mkt_text_message_opt_in", 0),
    ("profiles", "mkt_birth", "1990-02-30"),
    ("profiles", "mkt_birth", "1990-01-01T00:00:00Z"),
    ("profiles", "mkt_birth", 19900101),
    ("profiles", "mkt_available_points", 1.0),
    ("profiles", "mkt_available_points", True),
    ("profiles", "mkt_available_points", "10"),
    ("profiles", "mkt_gender", "M"),
    ("profiles", "mkt_gender", "FEMALE"),
    ("profiles", "mkt_name", 5),
    ("profiles", "mkt_cart_total_price", "1000"),
    ("profiles", "mkt_cart", {"mkt_product_id": "p"}),
    ("profiles", "mkt_cart", ["p1"]),
    ("profiles", "mkt_wish_list", [{"mkt_product_price": "9.9"}]),
    ("profiles", "mkt_coupons", [{"mkt_is_used": "no"}]),
    ("profiles", "mkt_coupons", [{"mkt_expires_at": "2025-01-17"}]),
    ("profiles", "mkt_coupons", [{"mkt_issued_at": "2025-02-30T00:00:00Z"}]),
    ("events", "mkt_revenue", "100"),
    ("events", "mkt_revenue", True),
    ("events", "mkt_order_id", 12),
    ("events", "mkt_items", [{"mkt_quantity": 1.5}]),
    ("events", "mkt_items", [{"mkt_product_id": 7}]),
    ("events", "mkt_url", ["https://example.com"]),
    ("devices", "opt_in", "false"),
    ("devices", "opt_in", 1),
]


def _with_property(batch: str, key: str, value: Any) -> tuple[str, dict[str, Any]]:
    path = {"profiles": spec.PROFILES.path, "events": spec.EVENTS.path, "devices": spec.DEVICES.path}[batch]
    item = VALID[path][batch][0]
    return path, {batch: [{**item, "properties": {key: value}}]}


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize(("batch", "key", "value"), RESERVED_BAD)
def test_each_reserved_property_type_is_checked(contract: Contract, batch: str, key: str, value: Any) -> None:
    path, body = _with_property(batch, key, value)
    response = contract.post(path, body)
    contract.expect(response, 400, case=f"{batch} property {key}={value!r}", message=BAD_REQUEST)
    fields = [e.get("field", "") for e in response.json().get("errors") or []]
    assert any(f.startswith(f"{batch}[0].properties.{key}") for f in fields), fields


RESERVED_GOOD: list[tuple[str, str, Any]] = [
    ("profiles", "mkt_birth", "2000-02-29"),
    ("profiles", "mkt_available_points", -3),
    ("profiles", "mkt_cart_total_price", 1),
    (
        "profiles",
        "mkt_coupons",
        [{"mkt_coupon_id": "c", "mkt_is_used": False, "mkt_expires_at": "2025-01-17T05:39:22+09:00"}],
    ),
    ("events", "mkt_revenue", 0.5),
    ("events", "mkt_items", [{"mkt_product_id": "p", "mkt_quantity": 2, "mkt_product_price": 9}]),
    ("events", "mkt_page_params", {"free": ["any", 1]}),
    ("events", "mkt_something_new", 1),
    ("devices", "opt_in", False),
    *[("profiles", "mkt_gender", gender) for gender in spec.GENDERS],
    ("profiles", "custom_flag", "false"),
]


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize(("batch", "key", "value"), RESERVED_GOOD)
def test_reserved_properties_of_the_right_type_and_custom_ones_pass(
    contract: Contract, batch: str, key: str, value: Any
) -> None:
    path, body = _with_property(batch, key, value)
    contract.expect(contract.post(path, body), 202, case=f"{batch} property {key}={value!r}")


# --- one status per request, every violation listed ---------------------------------------------


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("path", [spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path])
def test_one_bad_item_refuses_the_whole_batch(contract: Contract, path: str) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    good = VALID[path][endpoint.key][0]
    response = contract.post(path, {endpoint.key: [good, good, {}]})
    contract.expect(response, 400, case=f"{path}: the third item empty", message=BAD_REQUEST)
    fields = [e.get("field", "") for e in response.json().get("errors") or []]
    assert fields and all(f.startswith(f"{endpoint.key}[2]") for f in fields), fields


@pytest.mark.evidence("CHOSEN")
def test_an_error_answer_lists_each_violation_once(contract: Contract) -> None:
    body = {"profiles": [{"user_id": ""}, {"user_id": USER, "timestamp": "x"}, {"user_id": 3}]}
    response = contract.post(spec.PROFILES.path, body)
    contract.expect(response, 400, case="three bad profiles", message=BAD_REQUEST)
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["profiles[0].user_id", "profiles[1].timestamp", "profiles[2].user_id"], fields
    assert all(isinstance(e.get("reason"), str) and e["reason"] for e in response.json()["errors"])


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (404, {"path": "/v1/api/profile"}),
        (405, {"path": spec.PROFILES.path, "method": "PUT"}),
        (415, {"path": spec.PROFILES.path, "content_type": "text/plain"}),
    ],
)
def test_other_errors_use_the_envelope_and_their_message(
    contract: Contract, status: int, kwargs: dict[str, Any]
) -> None:
    headers = _headers(
        contract, **({"Content-Type": kwargs["content_type"]} if "content_type" in kwargs else {})
    )
    response = contract.post(
        kwargs["path"], VALID[spec.PROFILES.path], headers=headers, method=kwargs.get("method", "POST")
    )
    contract.expect(response, status, case=f"a {status} in the envelope", message=spec.MESSAGES[status])
    body = response.json()
    assert body.get("code") == status and "data" in body and isinstance(body.get("errors"), list), body
