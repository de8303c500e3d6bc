"""Invalid bodies: each breaks exactly one rule and says which."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
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
_WRONG_BY_KIND: dict[spec.PropertyType, list[tuple[Any, ...]]] = {
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
spec.check_table(_WRONG_BY_KIND, "strategies.defects._WRONG_BY_KIND")


_KIND_WORDS: dict[spec.PropertyType, str] = {
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
spec.check_table(_KIND_WORDS, "strategies.defects._KIND_WORDS")


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
        over = s.max_items(key) + 1
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


@dataclass(frozen=True)
class _Target:
    """What a defect maker knows of the item it breaks: its batch, fields and settings."""

    key: str
    fields: tuple[spec.Field, ...]
    settings: Settings


#: A defect maker breaks one rule in an item (a copy, free to change) and says how: it returns
#: the item as sent, where in it the fake points (after ``key[index]``) and the reason.
_Maker = Callable[[st.DrawFn, dict[str, Any], _Target], tuple[Any, str, str]]


def _with_property(item: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    item["properties"] = {**(item.get("properties") or {}), name: value}
    return item


def _missing(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    f = draw(st.sampled_from([f for f in t.fields if t.settings.requires(f)]))
    item.pop(f.name, None)
    return item, f".{f.name}", f"{f.name} is missing"


#: wrong values of each field kind; timestamps have a defect of their own
_WRONG_BY_FIELD: dict[spec.FieldKind, list[tuple[Any, str]]] = {
    "string": _WRONG_BY_KIND["string"],
    "properties": [([1], "an array"), ("x", "a string"), (3, "a number")],
    "platform": [("windows", "an unknown platform"), ("iOS", "mixed case"), ("", "empty")],
    "boolean": _WRONG_BOOLEANS,
}


def _wrong_type(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    f = draw(st.sampled_from([f for f in t.fields if f.kind != "timestamp"]))
    value, why = draw(st.sampled_from(_WRONG_BY_FIELD[f.kind]))
    item[f.name] = value
    return item, f".{f.name}", f"{f.name} is {why}"


def _bad_timestamp(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    s = t.settings
    value, why = draw(invalid_timestamps(naive=s.allow_naive_timestamps, timestamp_format=s.timestamp_format))
    item["timestamp"] = value
    return item, ".timestamp", f"timestamp is {why}"


def _not_object(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    return draw(st.sampled_from([None, "item", 7, []])), "", "an item that is not an object"


def _non_finite(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    why = f"a custom property is {value}, not a finite number"
    return _with_property(item, "score", value), ".properties.score", why


def _too_long(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    most = t.settings.max_string_length
    why = f"a string longer than {most} characters"
    return _with_property(item, "note", "x" * (most + 1)), ".properties.note", why


def _too_many(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    most = t.settings.max_properties
    props = dict(item.get("properties") or {})
    fillers = (f"p{i}" for i in range(2 * most + 2))
    extra = [k for k in fillers if k not in props][: max(0, most + 1 - len(props))]
    item["properties"] = {**dict.fromkeys(extra, 1), **props}
    return item, ".properties", f"more than {most} properties"


def _too_deep(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    most = t.settings.max_depth
    levels = most + 1 - _PROPERTIES_DEPTH
    nested: list[Any] = []
    for _ in range(levels - 1):
        nested = [nested]
    # the first container past the limit is the one named
    where = ".properties.deep" + "[0]" * (levels - 1)
    return _with_property(item, "deep", nested), where, f"nested deeper than {most} levels"


def _wrong_reserved(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    name, kind = draw(st.sampled_from(sorted(spec.PROPERTY_TYPES[t.key].items())))
    value, why, *inside = draw(st.sampled_from(_WRONG_BY_KIND[kind]))
    where = f".properties.{name}{inside[0] if inside else ''}"
    return _with_property(item, name, value), where, f"{name} is {why} ({_KIND_WORDS[kind]} expected)"


def _control_character(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    char = draw(st.sampled_from(["\x00", "\x07", "\x1b", "\x1f"]))
    name = next(f.name for f in t.fields if f.kind == "string" and f.required is True)
    item[name] = f"bad{char}value"
    return item, f".{name}", f"{name} holds the control character {char!r}"


def _unknown_reserved(draw: st.DrawFn, item: dict[str, Any], t: _Target) -> tuple[Any, str, str]:
    why = "an unknown reserved key (setting reject_unknown_reserved)"
    return _with_property(item, "mkt_qty", 1), ".properties.mkt_qty", why


#: Each defect an item can carry, by name.
_ITEM_DEFECTS: dict[str, _Maker] = {
    "missing": _missing,
    "wrong": _wrong_type,
    "timestamp": _bad_timestamp,
    "not_object": _not_object,
    "nan": _non_finite,
    "long": _too_long,
    "many": _too_many,
    "deep": _too_deep,
    "reserved": _wrong_reserved,
    "control": _control_character,
    "unknown": _unknown_reserved,
}


def _item_defects(key: str, s: Settings, chosen: bool) -> list[str]:
    """The defects drawn for an item of ``key``: those of the rules ``s`` enforces; with ``chosen``
    (the caller passed the settings), also those of the rules only a fake's settings define
    (limits, keys). Earlier ones come first when shrinking."""
    has_timestamp = any(f.kind == "timestamp" for f in spec.ITEM_FIELDS[key])
    # an item without a timestamp field gives that share of the draws to a wrongly typed field
    kinds = ["missing", "wrong", "timestamp" if has_timestamp else "wrong", "not_object", "nan"]
    kinds += _limit_kinds(s) if chosen else []
    kinds += ["reserved"] if s.check_reserved_properties else []
    kinds += ["control"] if s.reject_control_characters else []
    kinds += ["unknown"] if chosen and s.reject_unknown_reserved else []
    return kinds


def _user_id_cases(s: Settings) -> st.SearchStrategy[InvalidCase]:
    """One user id of a valid bulk deletion list that is not a non-empty string."""

    @st.composite
    def cases(draw: st.DrawFn) -> InvalidCase:
        # never more items than the limit allows: a case breaks one rule, its own
        items = list(draw(_batches(_ITEMS["user_ids"](s), 1, min(5, s.max_items("user_ids")))))
        index = draw(st.integers(0, len(items) - 1))
        value, why = draw(st.sampled_from([*_WRONG_STRINGS, ("", "an empty string"), (None, "null")]))
        items[index] = value
        return _case({"user_ids": items}, f"user_ids[{index}]", f"a user id that is {why}")

    return cases()


def _item_cases(endpoint: spec.Endpoint, s: Settings, chosen: bool) -> st.SearchStrategy[InvalidCase]:
    """One defect (of :func:`_item_defects`) in one item of a valid batch."""
    key = endpoint.key
    if key == "user_ids":
        return _user_id_cases(s)
    kinds = _item_defects(key, s, chosen)
    target = _Target(key, spec.ITEM_FIELDS[key], s)

    @st.composite
    def cases(draw: st.DrawFn) -> InvalidCase:
        # never more items than the limit allows: a case breaks one rule, its own
        items = list(draw(_batches(_ITEMS[key](s), 1, min(5, s.max_items(key)))))
        index = draw(st.integers(0, len(items) - 1))
        make = _ITEM_DEFECTS[draw(st.sampled_from(kinds))]
        items[index], where, why = make(draw, dict(items[index]), target)
        return _case({key: items}, f"{key}[{index}]{where}", why)

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
