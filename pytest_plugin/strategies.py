"""Hypothesis strategies for Marketap Open API payloads, valid and invalid.

Valid data is valid by construction, from the rules in :mod:`mockserver.spec` (the module the
fake's validator reads), never by filtering through the validator. Each invalid example breaks
exactly one rule and says which, so a failing test reads like a sentence and shrinking ends
at one explainable defect::

    @given(case=invalid_bodies("/v1/api/events"))
    def test_my_client_reports_rejections(case):
        ...  # send case.content(); case.field == "events[0].timestamp", case.reason, case.status

Bulk batches draw a small pool of items and a size, then repeat the pool to that size, so
1,000-item batches are cheap to generate and sizes 1 and 1,000 come up often.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockserver import spec
from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Settings

__all__ = [
    "InvalidCase",
    "InvalidRequest",
    "RawBody",
    "device_batches",
    "devices",
    "event_batches",
    "events",
    "invalid_bodies",
    "invalid_requests",
    "invalid_timestamps",
    "oversized_bodies",
    "profile_batches",
    "properties",
    "timestamps",
    "user_id_batches",
    "user_ids",
    "user_profiles",
    "valid_bodies",
]

_BATCH_KEYS = {"profiles": spec.PROFILES, "events": spec.EVENTS, "devices": spec.DEVICES}


class RawBody:
    """The ``body`` of a case whose defect only bytes can carry (not JSON, not UTF-8, truncated,
    or the JSON ``null``, which ``requests.post(json=None)`` and ``httpx.post(json=None)``
    would send as no body at all). No JSON encoder takes it, so ``json=case.body`` fails loudly
    instead of sending something else: send ``case.content()``."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"RawBody({self.raw[:40]!r}): send case.content(), not json=case.body"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawBody) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


@dataclass(frozen=True)
class InvalidCase:
    """A body that breaks exactly one rule: the fake answers ``status`` naming ``field``.

    Send ``content()``: the exact bytes. ``body`` is the JSON value, or a :class:`RawBody` when
    the defect cannot be a JSON value a client's ``json=`` would send as it is."""

    body: Any
    field: str
    reason: str
    status: int = 400
    #: the bytes to send, when the defect cannot be written as a JSON value
    raw: bytes | None = None

    def content(self) -> bytes:
        """The request body as sent."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode()

    def __str__(self) -> str:
        return f"{self.field}: {self.reason} (expect {self.status})"


@dataclass(frozen=True)
class InvalidRequest:
    """A request with one defect in its method, headers or query; its body is valid."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    field: str
    reason: str
    status: int

    def content(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode()

    def __str__(self) -> str:
        return f"{self.field}: {self.reason} (expect {self.status})"


# --- argument checks (eager, as Hypothesis's own strategies do) ------------------------------


def _check_sizes(min_size: int, max_size: int | None, *, limit: int = spec.MAX_BATCH_ITEMS) -> int:
    if not isinstance(min_size, int) or min_size < 0:
        raise InvalidArgument(f"min_size={min_size!r} must be a whole number, 0 or more")
    top = limit if max_size is None else max_size
    if not isinstance(top, int) or top < min_size:
        raise InvalidArgument(f"max_size={max_size!r} must be a whole number, at least min_size={min_size}")
    if top > limit:
        raise InvalidArgument(f"max_size={max_size!r} is over the limit of {limit} items per call")
    return top


def _endpoint(path: str) -> spec.Endpoint:
    endpoint = spec.endpoint_for(path)
    if endpoint is None:
        raise InvalidArgument(f"{path!r} is not an endpoint; use one of {', '.join(spec.PATHS)}")
    return endpoint


# --- text -----------------------------------------------------------------------------------

# Printable text in any script: no control characters, no lone surrogates (codec="utf-8").
_TEXT = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
_HANGUL = st.integers(0xAC00, 0xD7A3).map(chr)
_FAMILY = st.sampled_from("김이박최정강조윤장임한오서신권황안송류홍")
_KOREAN_NAMES = st.builds(lambda f, a, b: f + a + b, _FAMILY, _HANGUL, _HANGUL)
_OTHER_NAMES = st.sampled_from(
    [
        "홍길동",
        "Ana María Núñez",
        "Zoë Ødegård",
        "山田太郎",
        "Иван Петров",
        "محمد علي",
        "Nguyễn Văn An",
        "O'Brien",
    ]
)


def _words(min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(_TEXT, min_size=min_size, max_size=max_size)


def user_ids() -> st.SearchStrategy[str]:
    """User ids as integrations send them: ``u-1001``, UUIDs, e-mail-like or free text.

    Shrinks towards short ``u-`` ids."""
    return st.one_of(
        st.integers(0, 10**9).map(lambda n: f"u-{n}"),
        st.uuids().map(str),
        st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@example\.(com|co\.kr)", fullmatch=True),
        _words(1, 40),
    )


def _emails() -> st.SearchStrategy[str]:
    return st.from_regex(r"[a-z][a-z0-9._]{0,15}@[a-z]{2,10}\.(com|net|kr|co\.kr)", fullmatch=True)


def _phones() -> st.SearchStrategy[str]:
    return st.integers(0, 10**8 - 1).map(lambda n: f"010{n:08d}")  # digits, no dashes


# --- timestamps -----------------------------------------------------------------------------

_OFFSETS = st.one_of(
    st.just("Z"),
    st.sampled_from(["+09:00", "-03:30", "+05:30", "+00:00", "-08:00", "+14:00", "-12:00"]),
    st.builds(
        lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
)
_LEAP_DAYS = st.sampled_from([y for y in range(1904, 2100, 4) if y % 100 or y % 400 == 0]).map(
    lambda y: datetime(y, 2, 29)
)


def _format(moment: datetime, fraction: str, zone: str) -> str:
    # not strftime: it leaves years before 1000 unpadded on some platforms
    m = moment
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}{fraction}{zone}"
    )


def _iso8601(stamp: str, basic: bool, comma: bool, zone_form: str) -> str:
    """``stamp`` (RFC 3339) in one of ISO 8601's other forms, the same instant."""
    date, time, rest = stamp[:10], stamp[11:19], stamp[19:]
    fraction = rest[: len(rest) - len(rest.lstrip(".0123456789"))]
    zone = rest[len(fraction) :]
    if basic:
        date, time = date.replace("-", ""), time.replace(":", "")
    if comma:
        fraction = fraction.replace(".", ",")
    if zone not in ("", "Z") and zone_form != "extended":
        zone = zone[:3] if zone_form == "hours" and zone.endswith(":00") else zone.replace(":", "")
    return f"{date}T{time}{fraction}{zone}"


def _check_timestamp_settings(naive: object, timestamp_format: object) -> None:
    if not isinstance(naive, bool):
        raise InvalidArgument(f"naive={naive!r} must be True or False")
    if timestamp_format not in spec.TIMESTAMP_FORMATS:
        choices = " or ".join(map(repr, spec.TIMESTAMP_FORMATS))
        raise InvalidArgument(f"timestamp_format={timestamp_format!r} must be {choices}")


def timestamps(*, naive: bool = False, timestamp_format: str = "rfc3339") -> st.SearchStrategy[str]:
    """RFC 3339 date-times: ``Z`` or offsets such as ``+09:00`` and ``-03:30``, with and without
    fractional seconds, leap days included. ``naive=True`` also leaves the zone out sometimes
    (for a fake with ``allow_naive_timestamps``). ``timestamp_format="iso8601"`` also draws
    ISO 8601's other forms, as a fake with that setting accepts them: the basic form
    (``20250117T053922Z``), a comma before the fraction, and the offsets ``+0900`` and ``+09``.

    Shrinks towards ``2000-01-01T00:00:00Z``."""
    _check_timestamp_settings(naive, timestamp_format)
    moments = st.one_of(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)),
        _LEAP_DAYS,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    )
    fractions = st.one_of(
        st.just(""), st.integers(1, 9).flatmap(lambda n: st.from_regex(rf"\.[0-9]{{{n}}}", fullmatch=True))
    )
    zones = st.one_of(_OFFSETS, st.just("")) if naive else _OFFSETS
    rfc3339 = st.builds(_format, moments, fractions, zones)
    if timestamp_format == "rfc3339":
        return rfc3339
    forms = st.sampled_from(["extended", "basic", "hours"])
    return st.one_of(rfc3339, st.builds(_iso8601, rfc3339, st.booleans(), st.booleans(), forms))


_BAD_TIMESTAMPS = [
    ("2025-13-01T00:00:00Z", "month 13"),
    ("2025-02-30T00:00:00Z", "February 30"),
    ("2023-02-29T00:00:00Z", "February 29 in a common year"),
    ("2025-04-31T00:00:00Z", "April 31"),
    ("2025-01-17T24:00:00Z", "hour 24"),
    ("2025-01-17T25:00:00Z", "hour 25"),
    ("2025-01-17T05:60:00Z", "minute 60"),
    ("2025-01-17T05:39:60Z", "second 60"),
    ("2025-01-17T05:39:22+25:00", "offset +25:00"),
    ("2025-01-17 05:39:22Z", "a space instead of T"),
    ("20250117T053922Z", "the basic form"),
    ("2025-01-17T05:39:22+0900", "an offset without a colon"),
    ("2025-01-17T05:39:22+09", "an offset without minutes"),
    ("2025-01-17", "a date alone"),
    ("05:39:22Z", "a time alone"),
    ("1700000000", "a digit string"),
    ("2025/01/17 05:39", "slashes"),
    ("17.01.2025 05:39:22", "a local format"),
    ("0000-01-01T00:00:00Z", "year 0"),
    ("2025-01-17T05:39:22", "no time zone"),
    ("", "an empty string"),
]


def invalid_timestamps(
    *, naive: bool = False, timestamp_format: str = "rfc3339"
) -> st.SearchStrategy[tuple[Any, str]]:
    """``(value, what is wrong with it)``: every timestamp defect the contract names, and
    non-string values (numbers, objects). The settings are those of :func:`timestamps`: what a
    fake with them accepts (the basic form under ``"iso8601"``, no zone with ``naive=True``) is
    left out. Shrinks towards the first listed defect."""
    _check_timestamp_settings(naive, timestamp_format)
    accepted = re.compile(spec.timestamp_pattern(timestamp_format, naive=naive))
    return st.one_of(
        st.sampled_from([case for case in _BAD_TIMESTAMPS if not accepted.fullmatch(case[0])]),
        st.integers(0, 2**40).map(lambda n: (n, "a number instead of a string")),
        st.just(({"at": "2025-01-17T05:39:22Z"}, "an object instead of a string")),
        st.just((True, "a boolean instead of a string")),
        timestamps().map(lambda t: (t.replace("T", " ", 1), "a space instead of T")),
    )


# --- properties -----------------------------------------------------------------------------

_CUSTOM_KEYS = st.one_of(
    st.sampled_from(["plan", "tier", "referrer", "path", "campaign", "coupon_code", "최근_구매", "source"]),
    st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
).map(lambda k: "x" + k if k.startswith("mkt_") or k == "opt_in" else k)
_SCALARS = st.one_of(
    _words(0, 30),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.none(),
)
_CUSTOM_VALUES = st.one_of(
    _SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(_CUSTOM_KEYS, _SCALARS, max_size=3)
)
_PRICES = st.integers(0, 10**7).map(lambda n: n * 10.0)


def _item_objects(keys: dict[str, spec.PropertyType]) -> st.SearchStrategy[dict[str, Any]]:
    first = next(iter(keys))
    return st.fixed_dictionaries(
        {first: _words(1, 20)}, optional={k: _typed(t, nested=True) for k, t in keys.items() if k != first}
    )


def _typed(kind: spec.PropertyType, *, nested: bool = False) -> st.SearchStrategy[Any]:
    if kind == "string":
        return _words(1, 30)
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(0, 10**9)
    if kind == "number":
        return st.one_of(_PRICES, st.floats(0, 1e9, allow_nan=False, allow_infinity=False))
    if kind == "date":
        return st.dates(date(1900, 1, 1), date(2025, 12, 31)).map(date.isoformat)
    if kind == "timestamp":
        return timestamps()
    if kind == "gender":
        return st.sampled_from(spec.GENDERS)
    keys = spec.ITEM_KEYS if kind == "items" else spec.COUPON_KEYS
    return st.lists(_item_objects(keys), min_size=0 if nested else 1, max_size=3)


_REALISTIC: dict[str, st.SearchStrategy[Any]] = {
    "mkt_name": st.one_of(_KOREAN_NAMES, _OTHER_NAMES),
    "mkt_phone_number": _phones(),
    "mkt_email": _emails(),
    "mkt_grade": st.sampled_from(["VIP", "GOLD", "SILVER", "일반"]),
}


def properties(path: str = spec.PROFILES.path, *, max_custom: int = 5) -> st.SearchStrategy[dict[str, Any]]:
    """A ``properties`` object for the endpoint at ``path``: reserved keys with their right
    types (Korean names, phone numbers as digits, consent flags as booleans, ``mkt_birth`` as
    ``YYYY-MM-DD``, items and coupons with their keys), mixed with custom keys.

    Shrinks towards ``{}``."""
    endpoint = _endpoint(path)
    if endpoint.key not in spec.PROPERTY_TYPES:
        raise InvalidArgument(f"{path} has no properties")
    if not isinstance(max_custom, int) or max_custom < 0:
        raise InvalidArgument(f"max_custom={max_custom!r} must be a whole number, 0 or more")
    reserved = {k: _REALISTIC.get(k, _typed(t)) for k, t in spec.PROPERTY_TYPES[endpoint.key].items()}
    return st.builds(
        lambda custom, typed: {**custom, **typed},
        st.dictionaries(_CUSTOM_KEYS, _CUSTOM_VALUES, max_size=max_custom),
        st.fixed_dictionaries({}, optional=reserved),
    )


# --- items ----------------------------------------------------------------------------------

_EVENT_NAMES = st.one_of(
    st.sampled_from(
        [
            "mkt_login",
            "mkt_logout",
            "mkt_signup",
            "mkt_purchase",
            "mkt_page_view",
            "mkt_search",
            "mkt_product_view",
            "mkt_add_to_cart",
            "mkt_add_to_wishlist",
            "mkt_begin_checkout",
            "mkt_cart_view",
        ]
    ),
    _words(1, 30),
)
_DEVICE_IDS = st.one_of(
    st.uuids().map(lambda u: f"gaid:{u}"),
    st.uuids().map(lambda u: f"idfv:{str(u).upper()}"),
    st.uuids().map(lambda u: f"app_local_id:{u}"),
)


def user_profiles() -> st.SearchStrategy[dict[str, Any]]:
    """One profile: ``user_id``, and maybe ``properties`` and ``timestamp``.

    Shrinks towards ``{"user_id": "u-0"}``."""
    return _profiles(Settings())


def _profiles(s: Settings) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"user_id": user_ids()},
        optional={"properties": properties(spec.PROFILES.path), "timestamp": _timestamps_for(s)},
    )


def events() -> st.SearchStrategy[dict[str, Any]]:
    """One event: ``name`` and ``user_id``, and maybe ``id``, ``timestamp``, ``properties``.

    Shrinks towards ``{"name": "mkt_login", "user_id": "u-0"}``."""
    return _events(Settings())


def _events(s: Settings) -> st.SearchStrategy[dict[str, Any]]:
    user = {"user_id": user_ids()}
    return st.fixed_dictionaries(
        {"name": _EVENT_NAMES, **(user if s.require_event_user_id else {})},
        optional={
            **({} if s.require_event_user_id else user),
            "id": st.uuids().map(lambda u: f"evt-{u}"),
            "timestamp": _timestamps_for(s),
            "properties": properties(spec.EVENTS.path),
        },
    )


def _timestamps_for(s: Settings) -> st.SearchStrategy[str]:
    return timestamps(naive=s.allow_naive_timestamps, timestamp_format=s.timestamp_format)


def devices() -> st.SearchStrategy[dict[str, Any]]:
    """One device: ``device_id`` (``gaid:``, ``idfv:``, ``app_local_id:``) and ``platform``, and
    maybe a push ``token``, a ``user_id`` mapping, ``remove_user_id`` and ``properties``.

    Shrinks towards a bare Android device."""
    return st.fixed_dictionaries(
        {"device_id": _DEVICE_IDS, "platform": st.sampled_from(spec.DEVICE_PLATFORMS)},
        optional={
            "token": st.from_regex(r"[A-Za-z0-9_:-]{20,60}", fullmatch=True),
            "user_id": user_ids(),
            "remove_user_id": st.booleans(),
            "properties": properties(spec.DEVICES.path),
        },
    )


def _repeat(pool: list[Any], size: int) -> list[Any]:
    out = []
    for i in range(size):
        item = pool[i % len(pool)]
        if isinstance(item, dict) and i >= len(pool) and "id" in item:
            item = {**item, "id": f"{item['id']}-{i}"}  # repeated events stay distinct
        out.append(item)
    return out


def _batches(items: st.SearchStrategy[Any], min_size: int, max_size: int) -> st.SearchStrategy[list[Any]]:
    sizes = st.one_of(st.just(min_size), st.just(max_size), st.integers(min_size, max_size))
    if max_size == 0:
        return st.just([])
    return st.builds(
        lambda size, pool: _repeat(pool, size) if size else [],
        sizes,
        st.lists(items, min_size=1, max_size=min(8, max(1, max_size))),
    )


def profile_batches(
    *, min_size: int = 1, max_size: int | None = None
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of profiles, ``min_size`` to ``max_size`` (default: the API's 1,000) long.

    Sizes shrink towards ``min_size``; the items towards one simple profile."""
    top = _check_sizes(min_size, max_size)
    return _batches(user_profiles(), min_size, top)


def event_batches(
    *, min_size: int = 1, max_size: int | None = None
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of events, ``min_size`` to ``max_size`` (default: the API's 1,000) long.

    Sizes shrink towards ``min_size``; the items towards one simple event."""
    top = _check_sizes(min_size, max_size)
    return _batches(events(), min_size, top)


def device_batches(
    *, min_size: int = 1, max_size: int | None = None
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of devices, ``min_size`` to ``max_size`` (default 1,000) long. Shrinks like the others."""
    top = _check_sizes(min_size, max_size)
    return _batches(devices(), min_size, top)


def user_id_batches(*, min_size: int = 1, max_size: int | None = None) -> st.SearchStrategy[list[str]]:
    """Lists of user ids for bulk deletion: at least 1 (confirmed), at most 1,000 by default."""
    if isinstance(min_size, int) and min_size < 1:
        raise InvalidArgument(f"min_size={min_size!r}: the API requires at least one user id")
    top = _check_sizes(min_size, max_size)
    return _batches(user_ids(), min_size, top)


#: each batch's items, as a fake with the given settings accepts them
_ITEMS: dict[str, Callable[[Settings], st.SearchStrategy[Any]]] = {
    "profiles": _profiles,
    "events": _events,
    "devices": lambda s: devices(),
    "user_ids": lambda s: user_ids(),
}


def valid_bodies(
    path: str, *, min_size: int = 1, max_size: int | None = None, settings: Settings | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies the fake accepts for the endpoint at ``path`` (``"/v1/api/events"``, ...).

    For bulk endpoints, ``min_size``/``max_size`` bound the batch; ``min_size=0`` needs a fake
    that accepts empty batches. ``settings`` (the fake's, as a :class:`mockserver.Settings`)
    widens the draw to what they accept: timestamps in the forms they allow, events without a
    ``user_id``, empty batches, and batches up to their ``max_batch_items``. String, properties
    and nesting limits set below the defaults are not followed. Shrinks towards one simple item."""
    endpoint = _endpoint(path)
    s = _settings(settings)
    if endpoint is spec.DELETION:
        return st.fixed_dictionaries({"user_id": user_ids()})
    key = endpoint.key
    if min_size == 0 and s.min_batch_items(key):
        raise InvalidArgument(
            f"min_size=0: the fake refuses an empty {key} list (setting allow_empty_batches)"
        )
    top = _check_sizes(min_size, max_size, limit=s.max_batch_items)
    return st.fixed_dictionaries({key: _batches(_ITEMS[key](s), min_size, top)})


def _settings(settings: Settings | None) -> Settings:
    if settings is not None and not isinstance(settings, Settings):
        raise InvalidArgument(f"settings={settings!r} must be a mockserver.Settings")
    return settings or Settings()


# --- invalid bodies -------------------------------------------------------------------------

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


def _case(body: Any, field: str, reason: str, status: int = 400, raw: bytes | None = None) -> InvalidCase:
    if raw is None and body is None:  # json=None sends no body: the bytes must go as they are
        raw = b"null"
    if raw is not None:
        body = RawBody(raw)
    return InvalidCase(body=body, field=field, reason=reason, status=status, raw=raw)


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


# --- invalid requests -----------------------------------------------------------------------


def _set_header(headers: dict[str, str], name: str, value: str | None) -> None:
    """Set ``name``, or leave it out when ``value`` is None."""
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = value


def invalid_requests(
    path: str, *, api_key: str = DEFAULT_API_KEY, project_id: str = DEFAULT_PROJECT_ID
) -> st.SearchStrategy[InvalidRequest]:
    """Requests with a valid body and one defect elsewhere: missing or wrong auth (401), missing,
    empty or repeated ``project_id`` (400), a wrong content type (415), a wrong method (405).

    ``api_key``/``project_id`` are what the target accepts. Shrinks towards a missing header."""
    endpoint = _endpoint(path)
    good_headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    good_query = [("project_id", project_id)]

    def make(body: Any, defect: tuple[str, Any]) -> InvalidRequest:
        kind, value = defect
        headers, query, method = dict(good_headers), list(good_query), "POST"
        if kind == "auth":
            _set_header(headers, "Authorization", value)
            return InvalidRequest(
                method, endpoint.path, query, headers, body, "Authorization", f"Authorization {value!r}", 401
            )
        if kind == "project":
            query = value
            return InvalidRequest(
                method, endpoint.path, query, headers, body, "project_id", f"query {value!r}", 400
            )
        if kind == "content_type":
            _set_header(headers, "Content-Type", value)
            return InvalidRequest(
                method, endpoint.path, query, headers, body, "Content-Type", f"Content-Type {value!r}", 415
            )
        return InvalidRequest(value, endpoint.path, query, headers, body, "method", f"method {value}", 405)

    auth = st.one_of(
        st.just(None),
        # the scheme name is case-insensitive (RFC 7235): 'bearer KEY' is no defect
        st.sampled_from(["Basic dTpw", f"Bearer{api_key}", f"Token {api_key}", "Bearer", "bearer", api_key]),
        st.from_regex(r"[A-Za-z0-9._~+/-]{1,60}", fullmatch=True).map(
            lambda k: f"Bearer {k if k != api_key else k + 'x'}"
        ),
    )
    projects = st.sampled_from(
        [
            [],
            [("project_id", "")],
            [("project_id", "  ")],
            [("other", project_id)],
            [("project_id", project_id), ("project_id", project_id)],
        ]
    )
    content_types = st.sampled_from(
        [
            None,
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin-1",
            "multipart/form-data",
        ]
    )
    defects = st.one_of(
        auth.map(lambda v: ("auth", v)),
        projects.map(lambda v: ("project", v)),
        content_types.map(lambda v: ("content_type", v)),
        st.sampled_from(["GET", "PUT", "PATCH", "DELETE"]).map(lambda v: ("method", v)),
    )
    return st.builds(make, valid_bodies(path, max_size=3), defects)
