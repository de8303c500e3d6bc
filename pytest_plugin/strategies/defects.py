"""Invalid bodies: each breaks exactly one rule and says which."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockserver import spec
from mockserver.settings import Settings
from pytest_plugin.strategies.cases import InvalidCase, _case
from pytest_plugin.strategies.times import _BAD_TIMESTAMPS, invalid_timestamps
from pytest_plugin.strategies.valid import _ITEMS, _batches, _endpoint, _repeat, _settings, valid_bodies

__all__ = ["invalid_bodies", "oversized_bodies"]

_WRONG_STRINGS = [(12345, "a number"), (True, "a boolean"), (["x"], "an array"), ({"x": 1}, "an object")]
_WRONG_BOOLEANS = [
    ("false", "the string 'false'"),
    ("true", "the string 'true'"),
    (0, "the number 0"),
    (1, "the number 1"),
]
# (value, what is wrong with it[, where inside the value the fake points])
_WRONG_BY_KIND: dict[str, list[tuple[Any, ...]]] = {
    "string": [*_WRONG_STRINGS, ("", "an empty string")],
    "boolean": [*_WRONG_BOOLEANS, ("yes", "the string 'yes'")],
    "integer": [(1.5, "a fraction"), ("1200", "a numeric string"), (True, "a boolean")],
    "number": [("39000", "a numeric string"), (True, "a boolean"), ([1], "an array")],
    "date": [
        ("1990-5-1", "no zero padding"),
        ("1990-02-30", "February 30"),
        ("19900501", "the basic form"),
        (19900501, "a number"),
        ("1990-05-01T00:00:00Z", "a date-time"),
    ],
    "timestamp": [(v, why) for v, why in _BAD_TIMESTAMPS[:6]],
    "gender": [("male", "lower case"), ("M", "an abbreviation"), ("", "an empty string")],
    "items": [
        ({"mkt_product_id": "p"}, "an object instead of an array"),
        (["p-1"], "strings instead of item objects", "[0]"),
        ([{"mkt_quantity": 1.5}], "a fractional quantity", "[0].mkt_quantity"),
        ([{"mkt_product_price": "1"}], "a price as a string", "[0].mkt_product_price"),
    ],
    "coupons": [
        ([{"mkt_is_used": "no"}], "a used flag as a string", "[0].mkt_is_used"),
        ([{"mkt_expires_at": "2025-01-17"}], "an expiry date without a time", "[0].mkt_expires_at"),
    ],
}


_KIND_WORDS = {
    "string": "a non-empty string",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "date": "a YYYY-MM-DD date",
    "timestamp": "an RFC 3339 date-time with a zone",
    "gender": "Male, Female, Other or Unknown",
    "items": "an array of item objects",
    "coupons": "an array of coupon objects",
}


def _body_cases(endpoint: spec.Endpoint, s: Settings) -> st.SearchStrategy[InvalidCase]:
    """Defects of the body as a whole."""
    key = endpoint.key
    wrong_top: list[tuple[Any, str]] = (
        [(None, "null"), ("x", "a string"), ({"0": {}}, "an object"), (5, "a number")]
        if endpoint.bulk
        else [(None, "null"), (12345, "a number"), (["u"], "an array"), ("", "an empty string")]
    )
    cases: list[st.SearchStrategy[InvalidCase]] = [
        st.sampled_from([([], "an array"), ("events", "a string"), (None, "null"), (42, "a number")]).map(
            lambda v: _case(v[0], "body", f"the body is {v[1]}, not a JSON object")
        ),
        st.just(_case({}, key, f"{key} is missing")),
        st.sampled_from(wrong_top).map(lambda v: _case({key: v[0]}, key, f"{key} is {v[1]}")),
        st.sampled_from(
            [
                (b"{not json", "not JSON"),
                (b'{"' + key.encode() + b'": [', "truncated JSON"),
                (b"\xff\xfe{}", "not UTF-8"),
                (b"\xef\xbb\xbf{}", "led by a byte-order mark"),
            ]
        ).map(lambda v: _case(None, "body", v[1], raw=v[0])),
    ]
    if endpoint.bulk:
        if s.min_batch_items(key):
            cases.append(st.just(_case({key: []}, key, f"{key} is empty")))
        over = s.max_batch_items + 1
        why = f"{over} items, over the limit of {over - 1}"
        if over * _ITEM_BYTES <= s.max_body_bytes:
            cases.append(
                valid_bodies(endpoint.path, min_size=1, max_size=3).map(
                    lambda body: _case({key: _repeat(body[key], over)}, key, why)
                )
            )
        elif (
            over * _SMALLEST_BYTES <= s.max_body_bytes
        ):  # too big drawn: the smallest items still fit under 413
            cases.append(st.just(_case({key: [_SMALLEST[key]] * over}, key, why)))
    return st.one_of(cases)


#: at most the JSON size of an item `valid_bodies` draws (measured: under 5 KB)
_ITEM_BYTES = 8192
#: the smallest valid item of each batch, each under _SMALLEST_BYTES as JSON
_SMALLEST_BYTES = 64
_SMALLEST: dict[str, Any] = {
    "profiles": {"user_id": "u-0"},
    "events": {"name": "mkt_login", "user_id": "u-0"},
    "devices": {"device_id": "gaid:0", "platform": "android"},
    "user_ids": "u-0",
}


#: an item's fields nest from the body: {body} [batch] {item} {properties}
_PROPERTIES_DEPTH = 4
#: the limit cases are drawn while a body breaking them stays this small (cheap to draw and send)
_LIMIT_CASE_BYTES = 4 << 20


def _limit_kinds(s: Settings) -> list[str]:
    """The size limits a body can break while staying well inside ``max_body_bytes``."""
    room = min(_LIMIT_CASE_BYTES, s.max_body_bytes // 2)
    kinds = []
    if s.max_string_length + 100 < room:
        kinds.append("long")
    if (s.max_properties + 1) * 16 < room:
        kinds.append("many")
    if s.max_depth > _PROPERTIES_DEPTH and 2 * s.max_depth < room:
        kinds.append("deep")
    return kinds


def _item_cases(endpoint: spec.Endpoint, s: Settings, chosen: bool) -> st.SearchStrategy[InvalidCase]:
    """One defect in one item of a valid batch, of the rules ``s`` enforces; with ``chosen`` (the
    caller passed the settings), also of the rules only a fake's settings define (limits, keys)."""
    key = endpoint.key
    kinds = ["missing", "wrong", "timestamp", "not_object", "nan", *(_limit_kinds(s) if chosen else [])]
    kinds += ["reserved"] if s.check_reserved_properties else []
    kinds += ["control"] if s.reject_control_characters else []
    kinds += ["unknown"] if chosen and s.reject_unknown_reserved else []

    @st.composite
    def cases(draw: st.DrawFn) -> InvalidCase:
        items = list(draw(_batches(_ITEMS[key](s), 1, 5)))
        index = draw(st.integers(0, len(items) - 1))
        if key == "user_ids":
            value, why = draw(st.sampled_from([*_WRONG_STRINGS, ("", "an empty string"), (None, "null")]))
            items[index] = value
            return _case({key: items}, f"{key}[{index}]", f"a user id that is {why}")
        item = dict(items[index])
        at = f"{key}[{index}]"
        fields = spec.ITEM_FIELDS[key]
        kind = draw(st.sampled_from(kinds))
        if kind == "not_object":
            items[index] = draw(st.sampled_from([None, "item", 7, []]))
            return _case({key: items}, at, "an item that is not an object")
        if kind == "missing":
            required = [f for f in fields if s.requires(f)]
            f = draw(st.sampled_from(required))
            item.pop(f.name, None)
            items[index] = item
            return _case({key: items}, f"{at}.{f.name}", f"{f.name} is missing")
        if kind == "timestamp" and any(f.kind == "timestamp" for f in fields):
            value, why = draw(
                invalid_timestamps(naive=s.allow_naive_timestamps, timestamp_format=s.timestamp_format)
            )
            item["timestamp"] = value
            items[index] = item
            return _case({key: items}, f"{at}.timestamp", f"timestamp is {why}")
        if kind == "reserved":
            name, prop_kind = draw(st.sampled_from(sorted(spec.PROPERTY_TYPES[key].items())))
            value, why, *inside = draw(st.sampled_from(_WRONG_BY_KIND[prop_kind]))
            props = dict(item.get("properties") or {})
            props[name] = value
            item["properties"] = props
            items[index] = item
            where = f"{at}.properties.{name}{inside[0] if inside else ''}"
            return _case({key: items}, where, f"{name} is {why} ({_KIND_WORDS[prop_kind]} expected)")
        if kind == "control":
            char = draw(st.sampled_from(["\x00", "\x07", "\x1b", "\x1f"]))
            name = next(f.name for f in fields if f.kind == "string" and f.required is True)
            item[name] = f"bad{char}value"
            items[index] = item
            return _case({key: items}, f"{at}.{name}", f"{name} holds the control character {char!r}")
        if kind in ("long", "many", "deep", "unknown"):
            props = dict(item.get("properties") or {})
            if kind == "long":
                props["note"] = "x" * (s.max_string_length + 1)
                where, why = ".note", f"a string longer than {s.max_string_length} characters"
            elif kind == "many":
                fillers = (f"p{i}" for i in range(2 * s.max_properties + 2))
                extra = [k for k in fillers if k not in props][: max(0, s.max_properties + 1 - len(props))]
                props = {**dict.fromkeys(extra, 1), **props}
                where, why = "", f"more than {s.max_properties} properties"
            elif kind == "deep":  # the first container past the limit is the one named
                levels = s.max_depth + 1 - _PROPERTIES_DEPTH
                nested: list[Any] = []
                for _ in range(levels - 1):
                    nested = [nested]
                props["deep"] = nested
                where, why = ".deep" + "[0]" * (levels - 1), f"nested deeper than {s.max_depth} levels"
            else:
                props["mkt_qty"] = 1
                where, why = ".mkt_qty", "an unknown reserved key (setting reject_unknown_reserved)"
            item["properties"] = props
            items[index] = item
            return _case({key: items}, f"{at}.properties{where}", why)
        if kind == "nan":
            value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
            props = dict(item.get("properties") or {})
            props["score"] = value
            item["properties"] = props
            items[index] = item
            return _case(
                {key: items}, f"{at}.properties.score", f"a custom property is {value}, not a finite number"
            )
        f = draw(st.sampled_from([f for f in fields if f.kind != "timestamp"]))
        if f.kind == "properties":
            value, why = draw(st.sampled_from([([1], "an array"), ("x", "a string"), (3, "a number")]))
        elif f.kind == "platform":
            value, why = draw(
                st.sampled_from([("windows", "an unknown platform"), ("iOS", "mixed case"), ("", "empty")])
            )
        elif f.kind == "boolean":
            value, why = draw(st.sampled_from(_WRONG_BOOLEANS))
        else:
            value, why = draw(st.sampled_from(_WRONG_BY_KIND["string"]))
        item[f.name] = value
        items[index] = item
        return _case({key: items}, f"{at}.{f.name}", f"{f.name} is {why}")

    return cases()


def _deletion_cases() -> st.SearchStrategy[InvalidCase]:
    return st.sampled_from([*_WRONG_STRINGS, ("", "an empty string")]).map(
        lambda v: _case({"user_id": v[0]}, "user_id", f"user_id is {v[1]}")
    )


def invalid_bodies(
    path: str, *, max_body_bytes: int | None = None, settings: Settings | None = None
) -> st.SearchStrategy[InvalidCase]:
    """Bodies that break exactly one rule of the endpoint at ``path``, each an
    :class:`InvalidCase` naming the field the fake's error will name and the rule in words.

    Covers non-object and non-JSON bodies, missing and wrongly typed fields, empty strings and
    batches, 1,001 items, every timestamp defect, reserved properties of the wrong type, bad
    platforms, control characters and non-finite numbers. With ``max_body_bytes`` (the target's
    limit), bodies padded past it (413) are drawn too; they are left out by default, as the
    default limit makes each one 16 MiB.

    ``settings`` (the fake's, as a :class:`mockserver.Settings`) chooses the rules: what a fake with
    them accepts is left out (a naive timestamp with ``allow_naive_timestamps``, an empty batch
    with ``allow_empty_batches``, ...) and the batch limit is theirs. It also adds a string, a
    properties object and a nesting each one past the fake's limit (left out while such a body
    would be over 4 MiB or half of ``max_body_bytes``), and with ``reject_unknown_reserved`` a
    misspelt ``mkt_`` key. Without ``settings`` these are not drawn: the real service's limits
    are unknown, and the contract suite draws from the default.

    Shrinks towards whole-body defects, then towards the first item of a one-item batch."""
    endpoint = _endpoint(path)
    s = _settings(settings)
    cases = [
        _body_cases(endpoint, s),
        _deletion_cases() if endpoint is spec.DELETION else _item_cases(endpoint, s, settings is not None),
    ]
    if max_body_bytes is not None:
        cases.append(oversized_bodies(path, max_body_bytes=max_body_bytes))
    return st.one_of(cases)


def oversized_bodies(
    path: str, *, max_body_bytes: int = spec.MAX_BODY_BYTES
) -> st.SearchStrategy[InvalidCase]:
    """A valid body padded with whitespace past ``max_body_bytes``: a 413 naming ``body``."""
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise InvalidArgument(f"max_body_bytes={max_body_bytes!r} must be a positive whole number")
    return valid_bodies(path, max_size=3).map(
        lambda body: _case(
            body,
            "body",
            f"more than {max_body_bytes} bytes",
            413,
            raw=json.dumps(body).encode() + b" " * (max_body_bytes + 1),
        )
    )
