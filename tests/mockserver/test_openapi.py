"""The served document says what the fake does, item by item (the fuzzer in
``tests/test_openapi_fuzz.py`` checks the whole against the server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver import Settings, spec
from mockserver.openapi import NO_CONTROL_PATTERN, openapi_document

DOC = openapi_document()


def _body(path: str, document: dict[str, Any] = DOC) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    return schema


def _strings(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema that admits strings."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "string" or (isinstance(kind, list) and "string" in kind):
            yield node
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _item(path: str, key: str, document: dict[str, Any] = DOC) -> dict[str, Any]:
    item: dict[str, Any] = _body(path, document)["properties"][key]["items"]
    return item


def _nullable_of(schema: dict[str, Any]) -> dict[str, Any]:
    assert {"type": "null"} in schema["anyOf"], schema
    (inner,) = [s for s in schema["anyOf"] if s != {"type": "null"}]
    return inner


def test_every_body_string_is_bounded_and_free_of_control_characters() -> None:
    bodies = {path: _body(path) for path in spec.PATHS}
    found = [s for s in _strings([bodies, DOC["components"]["schemas"]["Value"]]) if "enum" not in s]
    found = [s for s in found if "pattern" not in s or s["pattern"] == NO_CONTROL_PATTERN]  # dates: own shape
    assert len(found) > 40
    for schema in found:
        assert schema["maxLength"] == 65_536, schema
        assert schema["pattern"] == NO_CONTROL_PATTERN, schema


def test_the_control_pattern_follows_its_setting() -> None:
    doc = openapi_document(Settings(reject_control_characters=False, max_string_length=9))
    found = list(_strings([_body(p, doc) for p in spec.PATHS]))
    assert all("pattern" not in s or s["pattern"] != NO_CONTROL_PATTERN for s in found)
    assert {s.get("maxLength") for s in found if "enum" not in s and "format" not in s} == {9}


def test_the_control_pattern_is_the_validators() -> None:
    # ECMA-262's \\uXXXX is Python's too
    assert re.fullmatch(NO_CONTROL_PATTERN, "tab\t, LF\n and CR\r pass")
    for c in [*range(0, 9), 11, 12, *range(14, 32)]:
        assert not re.fullmatch(NO_CONTROL_PATTERN, f"a{chr(c)}b"), c


@pytest.mark.parametrize(
    ("path", "key", "field"),
    [(spec.PROFILES.path, "profiles", "mkt_name"), (spec.EVENTS.path, "events", "mkt_order_id")],
)
def test_reserved_strings_must_not_be_empty_and_may_be_null(path: str, key: str, field: str) -> None:
    prop = _item(path, key)["properties"]["properties"]
    reserved = _nullable_of(_nullable_of(prop)["properties"][field])
    assert reserved["minLength"] == 1


def test_item_and_coupon_keys_are_typed_limited_and_nullable() -> None:
    props = _nullable_of(_item(spec.PROFILES.path, "profiles")["properties"]["properties"])
    coupon = _nullable_of(props["properties"]["mkt_coupons"])["items"]
    assert coupon["maxProperties"] == 1000
    assert _nullable_of(coupon["properties"]["mkt_coupon_id"])["minLength"] == 1
    item = _nullable_of(props["properties"]["mkt_cart"])["items"]
    assert _nullable_of(item["properties"]["mkt_quantity"])["type"] == "integer"


def test_integers_say_that_1_0_is_refused() -> None:
    props = _nullable_of(_item(spec.PROFILES.path, "profiles")["properties"]["properties"])
    points = _nullable_of(props["properties"]["mkt_available_points"])
    assert points["type"] == "integer" and "`1.0`" in points["description"]


@pytest.mark.parametrize(
    ("path", "key", "optional"),
    [
        (spec.PROFILES.path, "profiles", ["properties", "timestamp"]),
        (spec.EVENTS.path, "events", ["id", "timestamp", "properties"]),
        (spec.DEVICES.path, "devices", ["token", "user_id", "remove_user_id", "properties"]),
    ],
)
def test_optional_fields_may_be_null(path: str, key: str, optional: list[str]) -> None:
    item = _item(path, key)
    for field in optional:
        _nullable_of(item["properties"][field])
    for field in item["required"]:
        assert "anyOf" not in item["properties"][field]


def test_project_id_in_the_vendors_words() -> None:
    for endpoint in spec.ENDPOINTS:
        (param,) = DOC["paths"][endpoint.path]["post"]["parameters"]
        assert param["example"] == "your_project_id"
        assert param["schema"]["pattern"] == "\\S"  # blank is refused as empty
        expected = "Project ID" if endpoint is spec.BULK_DELETION else "The ID of the project."
        assert param["description"] == expected


def test_operations_in_the_vendors_words() -> None:
    events = DOC["paths"][spec.EVENTS.path]["post"]
    assert events["summary"] == "Collect bulk user events"
    assert events["description"].startswith("Receives a list of events and processes them asynchronously.")


def test_every_status_the_server_answers_is_described() -> None:
    for path in spec.PATHS:
        responses = DOC["paths"][path]["post"]["responses"]
        assert {"202", "400", "401", "408", "413", "415", "429", "503", "4XX", "5XX"} <= set(responses)
        assert "WWW-Authenticate" in responses["401"]["headers"]
        assert "Retry-After" in responses["429"]["headers"] and "Retry-After" in responses["503"]["headers"]
    assert "405 with `Allow: POST`" in DOC["info"]["description"]
    bulk = DOC["paths"][spec.BULK_DELETION.path]["post"]["responses"]["400"]["description"]
    assert "Invalid request." in bulk


def test_unknown_reserved_keys_in_the_document_follow_their_setting() -> None:
    doc = openapi_document(Settings(reject_unknown_reserved=True))
    props = _nullable_of(_item(spec.EVENTS.path, "events", doc)["properties"]["properties"])
    (pattern,) = props["patternProperties"]
    assert re.search(pattern, "mkt_revnue") and re.search(pattern, "mkt_items_x")
    assert not re.search(pattern, "mkt_revenue") and not re.search(pattern, "mkt_page_params")
    assert not re.search(pattern, "custom")
    assert "patternProperties" not in _nullable_of(
        _item(spec.EVENTS.path, "events")["properties"]["properties"]
    )


def test_an_example_the_settings_refuse_is_left_out() -> None:
    doc = openapi_document(Settings(max_properties=3))
    assert (
        "example" not in doc["paths"][spec.EVENTS.path]["post"]["requestBody"]["content"]["application/json"]
    )
    assert "example" in doc["paths"][spec.DELETION.path]["post"]["requestBody"]["content"]["application/json"]


def test_the_document_warns_of_limits_json_schema_cannot_state() -> None:
    assert "Warning" not in openapi_document()["info"]["description"]
    text = openapi_document(Settings(max_depth=8, max_body_bytes=4096))["info"]["description"]
    assert "Warning: max_depth is 8" in text and "max_body_bytes is 4096" in text
    assert "max_body_bytes" not in openapi_document(Settings(max_depth=8))["info"]["description"]
