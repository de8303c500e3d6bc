"""Valid data, valid by construction from the rules in :mod:`mockserver.spec`: user ids,
properties, items, batches and whole bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockserver import spec
from mockserver.settings import Settings
from pytest_plugin.strategies.times import timestamps

__all__ = [
    "device_batches",
    "devices",
    "event_batches",
    "events",
    "profile_batches",
    "properties",
    "user_id_batches",
    "user_ids",
    "user_profiles",
    "valid_bodies",
]

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


def _settings(settings: Settings | None) -> Settings:
    if settings is not None and not isinstance(settings, Settings):
        raise InvalidArgument(f"settings={settings!r} must be a mockserver.Settings")
    return settings or Settings()


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


def _object_lists(keys: dict[str, spec.PropertyType], nested: bool) -> st.SearchStrategy[Any]:
    return st.lists(_item_objects(keys), min_size=0 if nested else 1, max_size=3)


#: Values of a reserved property of each type; ``nested`` when inside an item or coupon.
_BY_PROPERTY_TYPE: dict[spec.PropertyType, Callable[[bool], st.SearchStrategy[Any]]] = {
    "string": lambda nested: _words(1, 30),
    "boolean": lambda nested: st.booleans(),
    "integer": lambda nested: st.integers(0, 10**9),
    "number": lambda nested: st.one_of(_PRICES, st.floats(0, 1e9, allow_nan=False, allow_infinity=False)),
    "date": lambda nested: st.dates(date(1900, 1, 1), date(2025, 12, 31)).map(date.isoformat),
    "timestamp": lambda nested: timestamps(),
    "gender": lambda nested: st.sampled_from(spec.GENDERS),
    "items": lambda nested: _object_lists(spec.ITEM_KEYS, nested),
    "coupons": lambda nested: _object_lists(spec.COUPON_KEYS, nested),
}
spec.check_table(_BY_PROPERTY_TYPE, "strategies.valid._BY_PROPERTY_TYPE")


def _typed(kind: spec.PropertyType, *, nested: bool = False) -> st.SearchStrategy[Any]:
    return _BY_PROPERTY_TYPE[kind](nested)


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
    top = _check_sizes(min_size, max_size, limit=s.max_items(key))
    return st.fixed_dictionaries({key: _batches(_ITEMS[key](s), min_size, top)})
