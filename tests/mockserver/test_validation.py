"""API.md's body rules, row by row, through Flask's test client; settings both ways."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

from mockserver import Backend, Settings, journal, spec, validation
from mockserver.errors import ApiError
from mockserver.validation import field_path
from tests.conftest import Post


def event(**extra: Any) -> dict[str, Any]:
    return {"name": "mkt_login", "user_id": "u-1", **extra}


def events_body(*items: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(items)}


# --- timestamps ------------------------------------------------------------------------------

GOOD_TIMESTAMPS = [
    "2025-01-17T05:39:22Z",
    "2025-01-17T05:39:22+09:00",
    "2025-01-17T05:39:22-03:30",
    "2025-01-17T05:39:22.123Z",
    "2025-01-17T05:39:22.123456789+05:30",
    "2025-01-17t05:39:22z",
    "2024-02-29T00:00:00Z",
    "2000-02-29T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+23:59",
]
BAD_TIMESTAMPS = [
    "2025-13-01T00:00:00Z",  # month 13
    "2025-02-30T00:00:00Z",  # Feb 30
    "2025-04-31T00:00:00Z",
    "2023-02-29T00:00:00Z",  # not a leap year
    "1900-02-29T00:00:00Z",
    "2025-01-17T24:00:00Z",
    "2025-01-17T25:00:00Z",
    "2025-01-17T05:60:00Z",
    "2025-01-17T05:39:60Z",
    "2025-01-17T05:39:22+25:00",
    "2025-01-17 05:39:22Z",  # space
    "20250117T053922Z",  # basic form
    "2025-01-17T05:39:22+0900",
    "2025-01-17T05:39:22+09",
    "2025-01-17",  # date alone
    "1700000000",  # digit string
    "2025/01/17 05:39",
    "yesterday",
    "",
    "0000-01-01T00:00:00Z",
    "2025-1-17T05:39:22Z",
    "2025-01-17T05:39:22.Z",
    " 2025-01-17T05:39:22Z",
    "2025-01-17T05:39:22Z\n",
]
NAIVE = ["2025-01-17T05:39:22", "2025-01-17T05:39:22.5"]


@pytest.mark.parametrize("stamp", GOOD_TIMESTAMPS)
def test_rfc3339_timestamps_are_accepted(tc_post: Post, stamp: str) -> None:
    assert tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp))).status == 202
    assert tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u", "timestamp": stamp}]}).status == 202


@pytest.mark.parametrize("stamp", [*BAD_TIMESTAMPS, *NAIVE])
def test_other_timestamp_forms_are_400(tc_post: Post, stamp: str) -> None:
    sent = tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp)))
    assert sent.status == 400
    assert sent.fields() == ["events[0].timestamp"]


@pytest.mark.parametrize(
    "value", [1700000000, 1.5, True, {"at": "2025-01-17T05:39:22Z"}, ["2025-01-17T05:39:22Z"]]
)
def test_non_string_timestamps_are_400(tc_post: Post, value: Any) -> None:
    sent = tc_post(spec.EVENTS.path, events_body(event(timestamp=value)))
    assert sent.status == 400
    assert sent.fields() == ["events[0].timestamp"]


@pytest.mark.parametrize(
    ("stamp", "says"),
    [
        ("2025-01-17T05:39:22", "the time zone is missing; add Z or an offset such as +09:00"),
        ("2025-02-30T00:00:00Z", "day 30 does not exist: 2025-02 has 28 days"),
        ("2024-02-30T00:00:00Z", "day 30 does not exist: 2024-02 has 29 days"),
        ("2025-13-01T00:00:00Z", "month 13 does not exist"),
        ("2025-01-17T24:00:00Z", "hour 24 does not exist"),
        ("2025-01-17T05:60:00Z", "minute 60 does not exist"),
        ("2016-12-31T23:59:60Z", "second 60 (a leap second) is refused: RFC 3339 allows it"),
        ("2025-01-17T05:39:61Z", "second 61 does not exist"),
        ("2025-01-17T05:39:22+25:00", "offset +25:00 does not exist: offsets run from -23:59 to +23:59"),
        ("0000-01-01T00:00:00Z", "year 0000 does not exist"),
        # exactly what Python's str(datetime) prints
        ("2025-01-17 05:39:22+00:00", "a space separates the date and the time (as Python's str(datetime)"),
        # ISO 8601 all the same: never called "not ISO 8601"
        ("20250117T053922Z", "ISO 8601, but not the form required: RFC 3339"),
        ("2025-01-17T05:39:22+0900", "ISO 8601, but not the form required: RFC 3339"),
        ("2025-01-17T05:39:22+09", "ISO 8601, but not the form required: RFC 3339"),
        ("2025-01-17T05:39:22,5Z", "ISO 8601, but not the form required: RFC 3339"),
        (
            "2025/01/17",
            "not a date-time in the required form: RFC 3339 (ISO 8601 extended form with a time zone",
        ),
    ],
)
def test_timestamp_errors_say_why(tc_post: Post, stamp: str, says: str) -> None:
    sent = tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp)))
    assert sent.status == 400
    (reason,) = [e["reason"] for e in sent.json["errors"]]
    assert says in reason
    assert "timedelta" not in reason and "fromisoformat" not in reason  # no Python internals


ISO_ONLY = [
    "20250117T053922Z",
    "2025-01-17T05:39:22+0900",
    "2025-01-17T05:39:22+09",
    "2025-01-17T05:39:22,5Z",
    "20250117T053922.123+0900",
    "20240229T000000-05",
]


@pytest.mark.parametrize("stamp", ISO_ONLY)
def test_timestamp_format_iso8601_accepts_the_other_iso_forms(
    tc_post: Post, backend: Backend, stamp: str
) -> None:
    assert tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp))).status == 400
    assert tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u", "timestamp": stamp}]}).status == 400
    backend.update_settings({"timestamp_format": "iso8601"})
    assert tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp))).status == 202
    assert tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u", "timestamp": stamp}]}).status == 202


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-01-17 05:39:22Z",
        "20250117T05:39:22Z",
        "2025-01-17T053922Z",
        "20250230T000000Z",
        "20250117T053922",
        "2025-01-17",
        "20250117",
        "2025-01-17T05:39Z",
        "1700000000",
    ],
)
def test_timestamp_format_iso8601_still_refuses(tc_post: Post, backend: Backend, stamp: str) -> None:
    """A space, mixed basic and extended parts, impossible dates, no zone, reduced forms."""
    backend.update_settings({"timestamp_format": "iso8601"})
    sent = tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp)))
    assert sent.status == 400
    assert sent.fields() == ["events[0].timestamp"]


@pytest.mark.parametrize("stamp", NAIVE)
def test_allow_naive_timestamps(tc_post: Post, backend: Backend, stamp: str) -> None:
    assert tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp))).status == 400
    backend.update_settings({"allow_naive_timestamps": True})
    assert tc_post(spec.EVENTS.path, events_body(event(timestamp=stamp))).status == 202
    # only the zone is relaxed: impossible dates stay impossible
    assert tc_post(spec.EVENTS.path, events_body(event(timestamp="2025-02-30T00:00:00"))).status == 400


_PATTERN = re.compile(spec.TIMESTAMP_PATTERN)


def _library_accepts(text: str) -> bool:
    """The oracle: RFC 3339 shape, then `datetime.fromisoformat` for the calendar."""
    shape = r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
    if not re.fullmatch(shape, text, flags=re.ASCII):
        return False
    try:
        # as Python 3.10 reads it too: no `Z`, no fraction (which cannot make a date impossible)
        parsed = datetime.fromisoformat(re.sub(r"\.\d+", "", text.upper()).replace("Z", "+00:00"))
    except ValueError:
        return False
    # RFC 3339 bounds the offset's fields (hour 00-23, minute 00-59); fromisoformat only its total.
    if text[-1] not in "Zz" and (int(text[-5:-3]) > 23 or int(text[-2:]) > 59):
        return False
    return parsed.year >= 1


_digits = st.integers(0, 99).map(lambda n: f"{n:02d}")


@st.composite
def _near_timestamps(draw: st.DrawFn) -> str:
    year = draw(st.integers(0, 9999))
    month, day, hour, minute, second = (draw(st.integers(0, 99)) for _ in range(5))
    zone = draw(st.sampled_from(["Z", "z", "+", "-"]))
    if zone in "+-":
        zone += f"{draw(st.integers(0, 30)):02d}:{draw(st.integers(0, 70)):02d}"
    frac = draw(st.sampled_from(["", ".1", ".123456", ".1234567891"]))
    sep = draw(st.sampled_from(["T", "t"]))
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}"


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_near_timestamps(), st.text(alphabet="0123456789-:TZ+.", max_size=30)))
def test_timestamp_pattern_agrees_with_fromisoformat(text: str) -> None:
    assert bool(_PATTERN.fullmatch(text)) == _library_accepts(text)


# --- required and typed fields, per endpoint -------------------------------------------------

REJECTED: list[tuple[str, Any, list[str]]] = [
    (spec.PROFILES.path, {}, ["profiles"]),
    (spec.PROFILES.path, {"users": [{"user_id": "u"}]}, ["profiles"]),
    (spec.PROFILES.path, {"profiles": "u"}, ["profiles"]),
    (spec.PROFILES.path, {"profiles": None}, ["profiles"]),
    (spec.PROFILES.path, {"profiles": [None]}, ["profiles[0]"]),
    (spec.PROFILES.path, {"profiles": [{}]}, ["profiles[0].user_id"]),
    (spec.PROFILES.path, {"profiles": [{"user_id": ""}]}, ["profiles[0].user_id"]),
    (spec.PROFILES.path, {"profiles": [{"user_id": 12}]}, ["profiles[0].user_id"]),
    (spec.PROFILES.path, {"profiles": [{"user_id": "u", "properties": [1]}]}, ["profiles[0].properties"]),
    (spec.EVENTS.path, {"events": "x"}, ["events"]),
    (spec.EVENTS.path, {"events": None}, ["events"]),
    (spec.EVENTS.path, {"events": [None]}, ["events[0]"]),
    (spec.EVENTS.path, {"events": [{"user_id": "u"}]}, ["events[0].name"]),
    (spec.EVENTS.path, {"events": [{"name": None, "user_id": "u"}]}, ["events[0].name"]),
    (spec.EVENTS.path, {"events": [{"name": 123, "user_id": "u"}]}, ["events[0].name"]),
    (spec.EVENTS.path, {"events": [{"name": "a"}]}, ["events[0].user_id"]),
    (spec.EVENTS.path, {"events": [{"name": "a", "user_id": 42}]}, ["events[0].user_id"]),
    (spec.EVENTS.path, {"events": [{"name": "a", "user_id": "u", "id": 7}]}, ["events[0].id"]),
    (spec.EVENTS.path, {"events": [{"name": "a", "user_id": "u", "id": ""}]}, ["events[0].id"]),
    (
        spec.EVENTS.path,
        {"events": [{"name": "a", "user_id": "u", "properties": "x"}]},
        ["events[0].properties"],
    ),
    (spec.DELETION.path, {}, ["user_id"]),
    (spec.DELETION.path, {"user_id": 12345}, ["user_id"]),
    (spec.DELETION.path, {"user_id": ""}, ["user_id"]),
    (spec.DELETION.path, {"user_id": ["u"]}, ["user_id"]),
    (spec.BULK_DELETION.path, {}, ["user_ids"]),
    (spec.BULK_DELETION.path, {"user_ids": []}, ["user_ids"]),
    (spec.BULK_DELETION.path, {"user_ids": "u"}, ["user_ids"]),
    (spec.BULK_DELETION.path, {"user_ids": ["u", 2, ""]}, ["user_ids[1]", "user_ids[2]"]),
    (spec.DEVICES.path, {}, ["devices"]),
    (spec.DEVICES.path, {"devices": [{"platform": "ios"}]}, ["devices[0].device_id"]),
    (spec.DEVICES.path, {"devices": [{"device_id": "d"}]}, ["devices[0].platform"]),
    (spec.DEVICES.path, {"devices": [{"device_id": "d", "platform": "windows"}]}, ["devices[0].platform"]),
    (spec.DEVICES.path, {"devices": [{"device_id": "d", "platform": "iOS"}]}, ["devices[0].platform"]),
    (
        spec.DEVICES.path,
        {"devices": [{"device_id": "d", "platform": "ios", "remove_user_id": "true"}]},
        ["devices[0].remove_user_id"],
    ),
    (
        spec.DEVICES.path,
        {"devices": [{"device_id": "d", "platform": "ios", "token": 5}]},
        ["devices[0].token"],
    ),
    (
        spec.DEVICES.path,
        {"devices": [{"device_id": "d", "platform": "ios", "properties": {"opt_in": "yes"}}]},
        ["devices[0].properties.opt_in"],
    ),
]


@pytest.mark.parametrize(("path", "body", "fields"), REJECTED)
def test_schema_violations_are_400_naming_each_field(
    tc_post: Post, path: str, body: Any, fields: list[str]
) -> None:
    sent = tc_post(path, body)
    assert sent.status == 400, sent.body
    assert sent.fields() == fields
    assert all(e["reason"] for e in sent.json["errors"])


def test_null_optional_fields_mean_absent(tc_post: Post) -> None:
    body = events_body(event(id=None, timestamp=None, properties=None))
    assert tc_post(spec.EVENTS.path, body).status == 202
    device = {"device_id": "d", "platform": "web", "token": None, "user_id": None, "remove_user_id": None}
    assert tc_post(spec.DEVICES.path, {"devices": [device]}).status == 202


@pytest.mark.parametrize(
    "path", [spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path, spec.BULK_DELETION.path]
)
def test_bulk_limit_1000_passes_1001_fails(tc_post: Post, path: str) -> None:
    item = {
        spec.PROFILES.path: {"user_id": "u"},
        spec.EVENTS.path: event(),
        spec.DEVICES.path: {"device_id": "d", "platform": "android"},
        spec.BULK_DELETION.path: "u",
    }[path]
    key = spec.endpoint_for(path).key  # type: ignore[union-attr]
    assert tc_post(path, {key: [item] * 1000}).status == 202
    sent = tc_post(path, {key: [item] * 1001})
    assert sent.status == 400
    assert sent.fields() == [key]
    assert "1000" in sent.json["errors"][0]["reason"]


def test_max_batch_items_setting(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_batch_items": 2})
    assert tc_post(spec.EVENTS.path, events_body(event(), event())).status == 202
    assert tc_post(spec.EVENTS.path, events_body(event(), event(), event())).status == 400


@pytest.mark.parametrize(
    "key,path",
    [("profiles", spec.PROFILES.path), ("events", spec.EVENTS.path), ("devices", spec.DEVICES.path)],
)
def test_allow_empty_batches(tc_post: Post, backend: Backend, key: str, path: str) -> None:
    sent = tc_post(path, {key: []})
    assert sent.status == 400
    assert sent.json["errors"] == [{"field": key, "reason": "must not be empty"}]
    backend.update_settings({"allow_empty_batches": True})
    assert tc_post(path, {key: []}).status == 202


def test_allow_empty_batches_never_relaxes_user_ids(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"allow_empty_batches": True})
    assert tc_post(spec.BULK_DELETION.path, {"user_ids": []}).status == 400


def test_require_event_user_id(tc_post: Post, backend: Backend) -> None:
    assert tc_post(spec.EVENTS.path, events_body({"name": "a"})).status == 400
    backend.update_settings({"require_event_user_id": False})
    assert tc_post(spec.EVENTS.path, events_body({"name": "a"})).status == 202
    assert tc_post(spec.EVENTS.path, events_body({"name": "a", "user_id": 5})).status == 400


# --- reserved properties ---------------------------------------------------------------------

PROFILE_BAD = [
    ("mkt_text_message_opt_in", "false"),
    ("mkt_kakao_opt_in", 0),
    ("mkt_email_opt_in", "yes"),
    ("mkt_birth", "1990-5-1"),
    ("mkt_birth", "1990-02-30"),
    ("mkt_birth", "19900501"),
    ("mkt_birth", 19900501),
    ("mkt_available_points", 1.5),
    ("mkt_available_points", "1200"),
    ("mkt_available_points", True),
    ("mkt_gender", "male"),
    ("mkt_gender", "M"),
    ("mkt_name", 5),
    ("mkt_name", ""),
    ("mkt_phone_number", 1012345678),
    ("mkt_cart_total_price", "10.5"),
    ("mkt_cart", {"mkt_product_id": "p"}),
    ("mkt_cart", [{"mkt_quantity": 1.5}]),
    ("mkt_cart", [{"mkt_product_price": "1"}]),
    ("mkt_wish_list", ["p-1"]),
    ("mkt_coupons", [{"mkt_is_used": "no"}]),
    ("mkt_coupons", [{"mkt_expires_at": "2025-01-17"}]),
]


@pytest.mark.parametrize(("key", "value"), PROFILE_BAD)
def test_reserved_profile_properties_of_the_wrong_type_are_400(tc_post: Post, key: str, value: Any) -> None:
    sent = tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u", "properties": {key: value}}]})
    assert sent.status == 400
    assert all(f.startswith(f"profiles[0].properties.{key}") for f in sent.fields()), sent.fields()


# An empty string breaks the generic string rule, which stays on.
@pytest.mark.parametrize(("key", "value"), [(k, v) for k, v in PROFILE_BAD if v != ""])
def test_check_reserved_properties_off_accepts_them(
    tc_post: Post, backend: Backend, key: str, value: Any
) -> None:
    backend.update_settings({"check_reserved_properties": False})
    assert (
        tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u", "properties": {key: value}}]}).status
        == 202
    )


def test_reserved_event_properties(tc_post: Post) -> None:
    good = {
        "mkt_revenue": 39000,
        "mkt_order_id": "o",
        "mkt_items": [{"mkt_product_id": "p", "mkt_quantity": 2}],
    }
    assert tc_post(spec.EVENTS.path, events_body(event(properties=good))).status == 202
    sent = tc_post(
        spec.EVENTS.path,
        events_body(event(properties={"mkt_revenue": "39000", "mkt_items": [{"mkt_quantity": "2"}]})),
    )
    assert sent.fields() == [
        "events[0].properties.mkt_revenue",
        "events[0].properties.mkt_items[0].mkt_quantity",
    ]


def test_correct_reserved_properties_and_custom_keys_are_accepted(tc_post: Post) -> None:
    from mockserver.openapi import EXAMPLES

    for path, body in EXAMPLES.items():
        assert tc_post(path, body).status == 202, path


def test_escaped_reserved_key_is_still_checked(tc_post: Post) -> None:
    data = b'{"profiles": [{"user_id": "u", "properties": {"\\u006dkt_kakao_opt_in": "false"}}]}'
    sent = tc_post(spec.PROFILES.path, data=data)
    assert sent.fields() == ["profiles[0].properties.mkt_kakao_opt_in"]


# --- JSON values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"NaN", "finite"),
        (b"Infinity", "finite"),
        (b"-Infinity", "finite"),
        (b"1e400", "finite"),
        (b'"a\\u0000b"', "control character"),
        (b'"a\\u001fb"', "control character"),
        (b'{"deep": [{"x": "\\u0007"}]}', "control character"),
    ],
)
def test_free_values_must_be_finite_and_printable(tc_post: Post, raw: bytes, reason: str) -> None:
    data = b'{"events": [{"name": "a", "user_id": "u", "properties": {"x": ' + raw + b"}}]}"
    sent = tc_post(spec.EVENTS.path, data=data)
    assert sent.status == 400
    assert sent.fields()[0].startswith("events[0].properties.x")
    assert reason in sent.json["errors"][0]["reason"]


def test_control_characters_in_known_fields(tc_post: Post, backend: Backend) -> None:
    data = b'{"events": [{"name": "a\\u0000", "user_id": "u"}]}'
    assert tc_post(spec.EVENTS.path, data=data).fields() == ["events[0].name"]
    ok = b'{"events": [{"name": "tab\\there\\r\\n", "user_id": "\\ud55c\\uae00"}]}'
    assert tc_post(spec.EVENTS.path, data=ok).status == 202
    backend.update_settings({"reject_control_characters": False})
    assert tc_post(spec.EVENTS.path, data=data).status == 202


def test_string_length_limit(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_string_length": 10})
    sent = tc_post(
        spec.EVENTS.path, events_body(event(user_id="u" * 11, properties={"x": "y" * 11, "z": ["y" * 11]}))
    )
    assert sent.fields() == ["events[0].user_id", "events[0].properties.x", "events[0].properties.z[0]"]
    assert "10 characters" in sent.json["errors"][0]["reason"]


def test_property_count_limit(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_properties": 3})
    props = {f"k{i}": i for i in range(4)}
    sent = tc_post(spec.EVENTS.path, events_body(event(properties=props), event(properties={"a": 1})))
    assert sent.fields() == ["events[0].properties"]
    assert "more than 3 properties" in sent.json["errors"][0]["reason"]


def test_property_count_is_reported_beside_schema_errors(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_properties": 1})
    sent = tc_post(
        spec.EVENTS.path, events_body(event(properties={"a": 1, "b": 2}), {"name": 5, "user_id": "u"})
    )
    assert sorted(sent.fields()) == ["events[0].properties", "events[1].name"]


def test_depth_limit(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_depth": 8})
    # body {1} > events [2] > event {3} > properties {4} > x [5] > [6] > [7] > [8]
    assert tc_post(spec.EVENTS.path, events_body(event(properties={"x": [[[[1]]]]}))).status == 202
    assert (
        tc_post(spec.EVENTS.path, events_body(event(extra={"a": {"b": {"c": {"d": {"e": 1}}}}}))).status
        == 202
    )
    sent = tc_post(spec.EVENTS.path, events_body(event(properties={"x": [[[[[1]]]]]})))
    assert sent.status == 400
    assert "deeper than 8" in sent.json["errors"][0]["reason"]
    sent = tc_post(spec.EVENTS.path, events_body(event(extra={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}})))
    assert sent.status == 400


@pytest.mark.parametrize("checked", [True, False])
def test_depth_limit_holds_for_item_lists(tc_post: Post, backend: Backend, checked: bool) -> None:
    # properties {4} > mkt_items [5] > entry {6}: typed or not, no container past the limit
    backend.update_settings({"max_depth": 5, "check_reserved_properties": checked})
    purchase = event(name="mkt_purchase", properties={"mkt_items": [{"mkt_product_id": "p"}]})
    sent = tc_post(spec.EVENTS.path, events_body(purchase))
    assert sent.status == 400
    assert sent.json["errors"] == [
        {"field": "events[0].properties.mkt_items[0]", "reason": "nested deeper than 5 levels"}
    ]
    assert tc_post(spec.EVENTS.path, events_body(event(properties={"mkt_items": []}))).status == 202
    backend.update_settings({"max_depth": 4})
    sent = tc_post(spec.EVENTS.path, events_body(event(properties={"mkt_coupons": []})))
    assert sent.json["errors"] == [
        {"field": "events[0].properties.mkt_coupons", "reason": "nested deeper than 4 levels"}
    ]
    backend.update_settings({"max_depth": 6})
    assert tc_post(spec.EVENTS.path, events_body(purchase)).status == 202
    assert len(backend.events("test-project")) == 2


def test_unknown_fields_are_accepted_with_warnings(tc_post: Post, backend: Backend) -> None:
    body = {"events": [event(extra=1, properties={"mkt_not_a_thing": 1, "custom": 2})], "device": {}}
    assert tc_post(spec.EVENTS.path, body).status == 202
    warnings = backend.requests()[-1].warnings
    assert warnings == [
        "device: unknown field ignored",
        "events[0].extra: unknown field ignored",
        "events[0].properties.mkt_not_a_thing: unknown reserved key",
    ]


def test_misspelt_reserved_keys_are_warned_with_the_key_meant(tc_post: Post, backend: Backend) -> None:
    """Top level, items and coupons: the silent production bugs a fake exists to catch."""
    purchase = event(
        properties={"mkt_revnue": 1.0, "mkt_items": [{"mkt_product_id": "p", "mkt_price": 1.0, "mkt_qty": 2}]}
    )
    assert tc_post(spec.EVENTS.path, events_body(purchase)).status == 202
    profile = {
        "user_id": "u",
        "properties": {"mkt_coupons": [{"mkt_coupon_code": "c"}], "mkt_cart": [{"mkt_qty": 1}]},
    }
    assert tc_post(spec.PROFILES.path, {"profiles": [profile]}).status == 202
    warnings = [w for entry in backend.requests() for w in entry.warnings]
    assert warnings == [
        "events[0].properties.mkt_revnue: unknown reserved key (did you mean mkt_revenue?)",
        "events[0].properties.mkt_items[0].mkt_price: unknown reserved key"
        " (did you mean mkt_product_price or mkt_option_price?)",
        "events[0].properties.mkt_items[0].mkt_qty: unknown reserved key (did you mean mkt_quantity?)",
        "profiles[0].properties.mkt_cart[0].mkt_qty: unknown reserved key (did you mean mkt_quantity?)",
        "profiles[0].properties.mkt_coupons[0].mkt_coupon_code: unknown reserved key"
        " (did you mean mkt_coupon_id?)",
    ]


def test_reject_unknown_reserved_makes_them_400(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"reject_unknown_reserved": True})
    body = events_body(event(properties={"mkt_items": [{"mkt_qty": 2}], "custom_key": 1}))
    sent = tc_post(spec.EVENTS.path, body)
    assert sent.status == 400
    assert sent.json["errors"] == [
        {
            "field": "events[0].properties.mkt_items[0].mkt_qty",
            "reason": "unknown reserved key (did you mean mkt_quantity?) (setting reject_unknown_reserved)",
        }
    ]
    assert backend.events("test-project") == []  # nothing stored
    # custom (non-mkt_) keys are never reserved
    assert tc_post(spec.EVENTS.path, events_body(event(properties={"custom_key": 1}))).status == 202


def test_item_and_coupon_objects_have_the_properties_limit(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_properties": 3})
    four = {f"k{i}": i for i in range(4)}
    sent = tc_post(spec.EVENTS.path, events_body(event(properties={"mkt_items": [{"k": 1}, four]})))
    assert sent.status == 400
    assert sent.json["errors"] == [
        {"field": "events[0].properties.mkt_items[1]", "reason": "more than 3 keys (4)"}
    ]
    sent = tc_post(
        spec.PROFILES.path, {"profiles": [{"user_id": "u", "properties": {"mkt_coupons": [four]}}]}
    )
    assert sent.status == 400
    assert sent.fields() == ["profiles[0].properties.mkt_coupons[0]"]
    three = {f"k{i}": i for i in range(3)}
    assert tc_post(spec.EVENTS.path, events_body(event(properties={"mkt_items": [three]}))).status == 202


def test_field_path() -> None:
    assert field_path(("events", 3, "timestamp")) == "events[3].timestamp"
    assert field_path(("user_ids", 0)) == "user_ids[0]"
    assert field_path(()) == "body"


def test_json_round_trip_of_the_error_body(tc_post: Post) -> None:
    sent = tc_post(spec.EVENTS.path, events_body({"name": "a"}))
    assert json.loads(sent.body) == {
        "code": 400,
        "message": "Invalid request parameters.",
        "data": None,
        "errors": [{"field": "events[0].user_id", "reason": "required"}],
    }


@pytest.mark.parametrize(("path", "body", "fields"), REJECTED)
def test_fitted_validator_agrees_with_the_full_one(path: str, body: Any, fields: list[str]) -> None:
    """The raw-text shortcuts in validator_for never change an answer."""
    from pydantic_core import ValidationError

    from mockserver.validation import validator_for

    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    raw = json.dumps(body).encode()

    def outcome(validator: Any) -> Any:
        try:
            return validator.validate_json(raw)
        except ValidationError as exc:
            return [(e["loc"], e["type"]) for e in exc.errors()]

    s = Settings()
    assert outcome(validator_for(endpoint, s, raw)) == outcome(validator_for(endpoint, s))


_ISO = re.compile(spec.ISO_TIMESTAMP_PATTERN)


def _iso_library_accepts(text: str) -> bool:
    """The oracle for `timestamp_format: iso8601`: one of the two shapes, then Python's
    `datetime` for the calendar."""
    extended = r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})([.,]\d+)?"
    basic = r"(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(\d{2})([.,]\d+)?"
    zone = r"([Zz]|[+-]\d{2}(?::?\d{2})?)"
    found = re.fullmatch(f"{extended}{zone}", text, flags=re.ASCII) or re.fullmatch(
        f"{basic}{zone}", text, flags=re.ASCII
    )
    if not found:
        return False
    year, month, day, hour, minute, second = (int(found[i]) for i in range(1, 7))
    offset = found[8]
    if offset not in "Zz" and (int(offset[1:3]) > 23 or (len(offset) > 3 and int(offset[-2:]) > 59)):
        return False
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


@st.composite
def _near_iso_timestamps(draw: st.DrawFn) -> str:
    year = draw(st.integers(0, 9999))
    month, day, hour, minute, second = (draw(st.integers(0, 99)) for _ in range(5))
    dash, colon = draw(st.sampled_from([("-", ":"), ("", ""), ("-", ""), ("", ":")]))
    zone = draw(st.sampled_from(["Z", "z", "+", "-"]))
    if zone in "+-":
        zone += f"{draw(st.integers(0, 30)):02d}" + draw(
            st.sampled_from(["", f":{draw(st.integers(0, 70)):02d}", f"{draw(st.integers(0, 70)):02d}"])
        )
    frac = draw(st.sampled_from(["", ".1", ",5", ".123456"]))
    return (
        f"{year:04d}{dash}{month:02d}{dash}{day:02d}T{hour:02d}{colon}{minute:02d}{colon}{second:02d}"
        f"{frac}{zone}"
    )


@settings(max_examples=2000, deadline=None)
@given(st.one_of(_near_iso_timestamps(), st.text(alphabet="0123456789-:TZ+.,", max_size=30)))
def test_iso_timestamp_pattern_agrees_with_the_calendar(text: str) -> None:
    assert bool(_ISO.fullmatch(text)) == _iso_library_accepts(text)


@pytest.mark.parametrize("value", ["1.0", "1e2", "100.0E0"])
def test_an_integral_float_is_not_an_integer(tc_post: Post, value: str) -> None:
    """JSON Schema's integer admits 1.0; the contract's "an integer" does not (the document's
    description says so)."""
    raw = '{"profiles": [{"user_id": "u", "properties": {"mkt_available_points": ' + value + "}}]}"
    sent = tc_post(spec.PROFILES.path, data=raw.encode())
    assert sent.status == 400
    assert sent.json["errors"] == [
        {
            "field": "profiles[0].properties.mkt_available_points",
            "reason": "must be an integer, written without a fraction or exponent (1, not 1.0)",
        }
    ]


def test_a_batch_over_the_limit_lists_its_first_items_errors(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_batch_items": 3})
    events = [event(), event(user_id=5), event(), event(name="")]  # the 4th is past the limit
    sent = tc_post(spec.EVENTS.path, events_body(*events))
    assert sent.status == 400
    assert sent.json["errors"] == [
        {"field": "events", "reason": "at most 3 items allowed, got 4"},
        {"field": "events[1].user_id", "reason": "must be a string"},
    ]


@pytest.mark.parametrize(
    ("key", "path", "item"),
    [
        ("profiles", spec.PROFILES.path, {"user_id": "u"}),
        ("events", spec.EVENTS.path, {"name": "e", "user_id": "u"}),
        ("devices", spec.DEVICES.path, {"device_id": "d", "platform": "web"}),
        ("user_ids", spec.BULK_DELETION.path, "u"),
    ],
)
def test_each_array_can_have_a_limit_of_its_own(key: str, path: str, item: Any) -> None:
    from mockserver import Backend, create_app

    backend = Backend({f"max_batch_{key}": 2, "max_batch_items": 5})
    client = create_app(backend=backend).test_client()

    def status(n: int, at: str) -> int:
        response = client.post(
            f"{at}?project_id=test-project",
            json={spec.endpoint_for(at).key: [item] * n},  # type: ignore[union-attr]
            headers={"Authorization": "Bearer test-api-key"},
        )
        return response.status_code

    assert status(2, path) == 202 and status(3, path) == 400
    # the other arrays keep max_batch_items
    other = spec.EVENTS.path if path != spec.EVENTS.path else spec.PROFILES.path
    other_item = {"name": "e", "user_id": "u"} if other == spec.EVENTS.path else {"user_id": "u"}
    assert (
        client.post(
            f"{other}?project_id=test-project",
            json={spec.endpoint_for(other).key: [other_item] * 5},  # type: ignore[union-attr]
            headers={"Authorization": "Bearer test-api-key"},
        ).status_code
        == 202
    )
    assert backend.settings.max_items(key) == 2
    assert backend.update_settings({f"max_batch_{key}": None}).max_items(key) == 5


def test_a_per_array_limit_is_checked_like_any_limit() -> None:
    from mockserver.errors import SettingsError
    from mockserver.settings import Settings

    assert Settings.from_mapping({"max_batch_events": "7"}).max_items("events") == 7
    assert Settings.from_mapping({"max_batch_events": "none"}).max_batch_events is None
    for wrong in (0, "x", True, 1.5):
        with pytest.raises(SettingsError):
            Settings.from_mapping({"max_batch_events": wrong})


# --- a batch over the limit is cut before it is validated -------------------------------------

_SMALL = Settings(max_batch_items=3)
_KEYS = ["name", "user_id", "timestamp", "id", "properties", "device_id", "platform", "mkt_x", "a"]
_ITEM_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3),
    max_leaves=6,
)


def _refusal(endpoint: spec.Endpoint, raw: bytes, shorten_from: int, s: Settings) -> Any:
    validation.SHORTEN_FROM = shorten_from
    try:
        validation.validate_body_fully(endpoint, raw, s)
    except ApiError as error:
        return error.status, error.message, [e.as_dict() for e in error.errors], error.items, error.counted
    return "accepted"


def _same_cut_or_whole(endpoint: spec.Endpoint, raw: bytes, s: Settings = _SMALL) -> Any:
    whole = _refusal(endpoint, raw, 1 << 62, s)
    assert _refusal(endpoint, raw, 0, s) == whole
    split = validation._split(endpoint.key, raw, s.max_items(endpoint.key))
    if split is not None:  # read in pieces (of two items here), the value read whole
        assert journal.parse_split(raw, endpoint.key, *split) == journal.parse_json(raw)
    return whole


@pytest.fixture(autouse=False)
def restore_shorten_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "SHORTEN_FROM", validation.SHORTEN_FROM)
    monkeypatch.setattr(journal, "_PIECE_ITEMS", 2)


@pytest.mark.usefixtures("restore_shorten_from")
@settings(max_examples=150, deadline=None)
@given(
    endpoint=st.sampled_from([spec.EVENTS, spec.PROFILES, spec.DEVICES, spec.BULK_DELETION]),
    items=st.lists(_ITEM_VALUES, min_size=0, max_size=8),
    extra=st.dictionaries(st.sampled_from(["extra", "events", "user_ids", "x"]), _ITEM_VALUES, max_size=2),
)
def test_a_long_batch_is_refused_alike_cut_or_whole(
    endpoint: spec.Endpoint, items: list[Any], extra: dict[str, Any]
) -> None:
    """Cut to one item past the limit before it is validated (a body near the size limit must not
    be read whole in one call that holds the GIL), a long batch gets the refusal it got whole:
    the real count in the reason, its first items' errors, its item count in the journal."""
    _same_cut_or_whole(endpoint, json.dumps({**extra, endpoint.key: items}).encode())
    _same_cut_or_whole(endpoint, json.dumps({endpoint.key: items, **extra}).encode())


@pytest.mark.usefixtures("restore_shorten_from")
@pytest.mark.parametrize(
    "raw",
    [
        b'{"events": [1, 2, 3, 4, 5], "events": [{"name": "a", "user_id": "u"}]}',  # the last one counts
        b'{"events": [{"name": "a", "user_id": "u"}], "events": [1, 2, 3, 4, 5]}',
        b'{"ev\\u0065nts": [{"name": ""}, {}, {}, {}, {}, {}]}',  # a key spelt with an escape
        b'{"events": [{"name": "\\u0000"}, {"name": "\\ud800"}, 3, 4, 5, 6]}',
        b'{"events": [{"name": 1e999}, 2, 3, 4, 5]}',  # a number that overflows
        b'{"events": [1, 2, 3, 4, 5]} trailing',  # not JSON: read whole
        b'{"events": [1, 2, 3, 4, 5,]}',
        b'[{"events": [1, 2, 3, 4, 5]}]',  # not an object
        b'{"events": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}}',  # not a list
        b'{"events": [{"name": "a", "name": "b"}, 2, 3, 4, 5]}',  # a duplicate key inside an item
    ],
)
def test_a_long_batch_in_an_odd_body_is_refused_alike_cut_or_whole(raw: bytes) -> None:
    _same_cut_or_whole(spec.EVENTS, raw)


def test_a_long_batch_is_not_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the validator is given for a batch of 250,000 items near the size limit: one past
    the limit, the rest never read by it; and the parser, to explain the refusal, reads a few
    thousand items at a time."""
    seen: list[int] = []
    real = validation.validator_for

    def recording(endpoint: spec.Endpoint, s: Settings, raw: bytes = b"\\") -> Any:
        seen.append(len(raw))
        return real(endpoint, s, raw)

    parsed: list[int] = []

    def parse(raw: bytes, **kw: Any) -> Any:
        parsed.append(len(raw))
        return from_json(raw, **kw)

    monkeypatch.setattr(validation, "validator_for", recording)
    monkeypatch.setattr(journal, "from_json", parse)
    item = {"name": "", "user_id": "", "timestamp": "x", "id": 5}
    raw = json.dumps({"events": [item] * 250_000}).encode()
    refusal = _refusal(spec.EVENTS, raw, validation.SHORTEN_FROM, Settings())
    assert refusal[2][0] == {"field": "events", "reason": "at most 1000 items allowed, got 250000"}
    assert refusal[3:] == (250_000, True)
    assert seen and max(seen) < len(raw) / 100
    assert len(parsed) == 250_000 / journal._PIECE_ITEMS and max(parsed) < len(raw) / 40
