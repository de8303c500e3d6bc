"""The events fast path never says yes where the full validator would not, nor differently.

``accept_events`` may answer None (unsure) for any body; when it answers with ids, the full
validator must accept the same body without a warning and find the same ids.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.bodies import events_body
from mockserver import fastpath, spec
from mockserver.duplicates import may_have_duplicates
from mockserver.errors import ApiError
from mockserver.fastpath import _decoders_for, accept_events
from mockserver.settings import Settings
from mockserver.validation import Validated, validate_body, validate_body_fully
from pytest_plugin import strategies as ms
from tests.conftest import fuzz_examples
from tests.mockserver.mutations import mutations

SETTINGS = {
    "default": Settings(),
    "relaxed": Settings(allow_naive_timestamps=True, allow_empty_batches=True, require_event_user_id=False),
    "unchecked": Settings(check_reserved_properties=False, reject_control_characters=False),
    "small": Settings(max_string_length=8, max_properties=3, max_depth=5, max_batch_items=3),
}


def full(raw: bytes, s: Settings) -> Validated | None:
    try:
        return validate_body_fully(spec.EVENTS, raw, s)
    except ApiError:
        return None


def check(raw: bytes, s: Settings) -> list[str | None] | None:
    """The property under test; returns the fast path's event ids."""
    fast = accept_events(raw, s)
    if fast is None:
        return None
    ids, users = fast
    slow = full(raw, s)
    assert slow is not None, "fast path accepted a body the full validator rejects"
    assert slow.warnings == []
    assert (slow.items, slow.event_ids, slow.event_users) == (len(ids), ids, users)
    return ids


def body(*events: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"events": list(events), **extra}).encode()


def event(**fields: Any) -> dict[str, Any]:
    return {"name": "purchase", "user_id": "u-1", **fields}


# --- the fast path is taken ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["peer", "purchase"])
def test_the_benchmark_bodies_take_the_fast_path(kind: str) -> None:
    raw = events_body(1000, kind=kind)
    ids = check(raw, Settings())
    assert ids is not None and len(ids) == 1000


ACCEPTED_FAST = [
    body(event()),
    body(event(id="e-1", timestamp="2025-01-17T14:39:22.5+09:00")),
    body(
        event(properties={"tags": ["a", 1, None], "nested": {"a": [1, 2.5]}, "mkt_page_params": {"q": "x"}})
    ),
    body(event(properties={"mkt_revenue": 3, "mkt_items": [{"mkt_quantity": 2, "note": "가"}]})),
    body(event(name="\u00e9\t\n", properties={"emoji": "\U0001f600"})),
    body(event(properties={"n": 10**30})),  # beyond 64 bits, both accept it
    # ids absent, null and given, in every mix: each comes back as sent, None for the first two
    body(event(), event(id=None), event(id="e-2")),
    body(event(id=None), event(id=None)),
    # compact, in the struct's own order: the body is its value encoded again
    b'{"events":[{"name":"a","user_id":"u","id":"e-1","timestamp":"2025-01-17T14:39:22Z"}]}',
    b'{"events":[{"timestamp":"2025-01-17T14:39:22Z","id":"e-1","user_id":"u","name":"a"}]}',
]


@pytest.mark.parametrize("raw", ACCEPTED_FAST)
def test_plain_bodies_take_the_fast_path(raw: bytes) -> None:
    assert check(raw, Settings()) is not None


@pytest.mark.parametrize(
    "events",
    [
        [{"name": "a"}, {"name": "b", "user_id": None}, {"name": "c", "user_id": "u-3"}],
        [{"name": "a", "user_id": None}, {"name": "b", "user_id": None}],
        [{"name": "a", "id": "e-1"}, {"name": "b"}],
    ],
)
def test_users_absent_null_and_given_come_back_as_sent(events: list[dict[str, Any]]) -> None:
    relaxed = SETTINGS["relaxed"]
    assert check(body(*events), relaxed) is not None
    fast = accept_events(body(*events), relaxed)
    assert fast is not None
    assert fast[1] == [e.get("user_id") for e in events]


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"events":[{"name":"a","user_id":"u","id":"first","id":"second"}]}', "events[0].id"),
        (b'{"events":[{"name":"a","user_id":"u","properties":{"x":1,"x":"2:3"}}]}', "events[0].properties.x"),
        (
            b'{"events":[{"name":"a","user_id":"u","properties":{"x":{"y":1,"y":2}}}]}',
            "events[0].properties.x.y",
        ),
        (
            b'{"events":[{"name":"a","user_id":"u","properties":{"mkt_items":[{"mkt_quantity":1,"mkt_quantity":2}]}}]}',
            "events[0].properties.mkt_items[0].mkt_quantity",
        ),
        (b'{"events":[{"name":"a","user_id":"u","\\u006eame":"b"}]}', "events[0].name"),
        (
            b'{"events":[{"name":"a","user_id":"u","properties":{"\\u00e9":1,"\\u00E9":2}}]}',
            "events[0].properties.\u00e9",
        ),
        # a colon spelt as an escape elsewhere must not hide the colon the duplicate leaves
        (b'{"events":[{"name":"a\\u003ab","user_id":"u","user_id":"v"}]}', "events[0].user_id"),
        (
            b'{"events":[{"name":"a\\u003Ab","user_id":"u","properties":{"k":{"x":1,"x":2}}}]}',
            "events[0].properties.k.x",
        ),
        (
            b'{"events":[{"name":"a","user_id":"u"}],"events":[{"name":"b","user_id":"u","id":"second"}]}',
            "events",
        ),
    ],
)
def test_duplicate_keys_go_the_long_way_and_the_last_wins_with_a_warning(raw: bytes, where: str) -> None:
    assert accept_events(raw, Settings()) is None
    slow = full(raw, Settings())
    assert slow is not None
    assert slow.warnings == [f"{where}: duplicate key; the last occurrence wins"]
    assert slow.event_ids == [json.loads(raw)["events"][0].get("id")]  # as json reads them: the last


@pytest.mark.parametrize(
    "raw",
    [
        b'{"events":[{"name":"a","user_id":"u","id":"x","id":"x"}]}',
        b'{"events":[{"name":"a","user_id":"u","properties":{"k":1,"k":1}}]}',
        b'{"events":[{"name":"a","user_id":"u"}],"events":[{"name":"a","user_id":"u"}]}',
    ],
)
def test_a_compact_body_with_a_key_given_twice_alike_is_no_copy_of_its_value(raw: bytes) -> None:
    """A body that is its value encoded again holds no duplicate; one whose repeated key
    repeats its value too is longer than that encoding, whatever its colons say."""
    decoded = json.loads(raw)
    assert msgspec.json.encode(decoded) != raw
    assert may_have_duplicates(raw, decoded)
    assert accept_events(raw, Settings()) is None
    slow = full(raw, Settings())
    assert slow is not None and len(slow.warnings) == 1


def test_a_compact_body_in_the_specs_order_is_its_batch_encoded_again() -> None:
    """The events struct keeps the spec's field order, so the cheapest proof of no duplicate
    applies to what clients commonly send."""
    one = {"name": "a", "user_id": "u", "id": "e-1", "timestamp": "2025-01-17T14:39:22Z", "properties": {}}
    in_order = {field.name: one[field.name] for field in spec.ITEM_FIELDS["events"] if field.name in one}
    raw = msgspec.json.encode({"events": [in_order]})
    assert msgspec.json.encode(_decoders_for(Settings()).events(raw)) == raw


def test_a_body_that_is_its_value_encoded_again_has_no_duplicate() -> None:
    raw = b'{"events":[{"name":"a:b","user_id":"u","properties":{"k":{"x":[1,"y:z"]}}}]}'
    assert msgspec.json.encode(json.loads(raw)) == raw
    assert not may_have_duplicates(raw, json.loads(raw))
    assert check(raw, Settings()) == [None]


def test_the_check_buffer_reused_holds_nothing_of_the_last_body() -> None:
    """Each thread encodes into one buffer kept between checks: a shorter body after a longer
    one must be compared with its own encoding only, and a body larger than what is kept
    leaves no buffer behind."""
    import threading

    from mockserver import duplicates

    longer = b'{"a":1,"b":2,"c":3}'
    assert not may_have_duplicates(longer, json.loads(longer))
    assert not may_have_duplicates(b'{"a":1}', json.loads(b'{"a":1}'))
    twice = b'{"a":1,"a":1}'  # its value encoded is a prefix of what the buffer held before
    assert may_have_duplicates(twice, json.loads(twice))
    kept = duplicates._buffers.buffer
    assert kept is not None and bytes(kept) == b'{"a":1}'

    large = {"k": "x" * (2 << 20)}
    assert not may_have_duplicates(msgspec.json.encode(large), large)
    assert duplicates._buffers.buffer is None

    # each thread its own buffer: checks running side by side never see each other's text
    results: list[bool] = []

    def check_many(raw: bytes) -> None:
        value = json.loads(raw)
        results.extend(may_have_duplicates(raw, value) for _ in range(2000))

    threads = [threading.Thread(target=check_many, args=(raw,)) for raw in (longer, twice) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == results.count(False) == 4000


@pytest.mark.parametrize(
    ("endpoint", "raw", "where"),
    [
        (spec.BULK_DELETION, b'{"user_ids":["a"],"user_ids":["b\\u003a"]}', "user_ids"),
        (spec.DELETION, b'{"user_id":"\\u003a","x":1,"x":2}', "x"),
        (spec.PROFILES, b'{"profiles":[{"user_id":"u","user_id":"v\\u003a"}]}', "profiles[0].user_id"),
    ],
)
def test_an_escaped_colon_hides_no_duplicate_on_any_endpoint(
    endpoint: spec.Endpoint, raw: bytes, where: str
) -> None:
    warning = f"{where}: duplicate key; the last occurrence wins"
    assert warning in validate_body(endpoint, raw, Settings()).warnings


def test_keys_that_differ_once_unescaped_are_no_duplicates() -> None:
    # "e" and a combining accent is not the same key as a precomposed "é", nor is "\\u0061b" "aB"
    raw = (
        b'{"events":[{"name":"a","user_id":"u","properties":{"e\\u0301":1,"\\u00e9":2,"\\u0061b":3,"aB":4}}]}'
    )
    assert full(raw, Settings()) == validate_body(spec.EVENTS, raw, Settings())
    assert validate_body(spec.EVENTS, raw, Settings()).warnings == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"events":[{"name":"a:b","user_id":"gaid:1","timestamp":"2025-01-17T05:39:22+09:00"}]}',
        b'{"events" : [ {"name" : "a", "user_id" : "u", "properties" : {"url" : "https://x.test:8/"}} ] }',
    ],
)
def test_colons_in_strings_and_spaces_are_no_duplicates(raw: bytes) -> None:
    assert check(raw, Settings()) is not None


def test_validate_body_answers_the_same_either_way() -> None:
    raw = body(event(id="e-1"), event())
    assert validate_body(spec.EVENTS, raw, Settings()) == validate_body_fully(spec.EVENTS, raw, Settings())


# --- the long way, for every doubt -----------------------------------------------------------

LONG_WAY = {
    "control escape": body(event(name="a\u0001")),
    "backspace escape": body(event(name="a\b")),
    "form feed escape": body(event(properties={"x": "\f"})),
    "space separator": body(event(timestamp="2025-01-17 14:39:22Z")),
    "offset without colon": body(event(timestamp="2025-01-17T14:39:22+0900")),
    "leap second": body(event(timestamp="2025-01-17T14:39:60Z")),
    "trailing newline": body(event(timestamp="2025-01-17T14:39:22Z\n")),
    "two stamps in one": body(event(timestamp="2025-01-17T14:39:22Z\n2025-01-17T14:39:22Z")),
    "arabic digits": body(event(timestamp="\u0662\u0660\u0662\u0665-01-17T14:39:22Z")),
    "no zone": body(event(timestamp="2025-01-17T14:39:22")),
    "unknown top-level field": body(event(), debug=True),
    "unknown event field": body(event(colour="red")),
    "unknown reserved property": body(event(properties={"mkt_revenu": 1.0})),
    "unknown reserved property among others": body(event(properties={"a": 1, "mkt_x": 2, "z": 3})),
    # not reserved, but it looks so to the fast path's one search: the full validator decides
    "a name that holds a line starting mkt_": body(event(properties={"note\nmkt_x": 1})),
    # a body holding no "mkt_" but an escape that spells it: the names are still gathered
    "an unknown reserved property spelt with an escape": (
        b'{"events":[{"name":"a","user_id":"u","properties":{"\\u006dkt_revenu":1.0}}]}'
    ),
    "a boolean revenue spelt with an escape": (
        b'{"events":[{"name":"a","user_id":"u","properties":{"mk\\u0074_revenue":true}}]}'
    ),
    "float quantity": body(event(properties={"mkt_items": [{"mkt_quantity": 2.0}]})),
    "misspelt item key": body(event(properties={"mkt_items": [{"mkt_qty": 2}]})),
    "item with too many keys": body(event(properties={"mkt_items": [{f"k{i}": i for i in range(1001)}]})),
    "boolean revenue": body(event(properties={"mkt_revenue": True})),
    "empty order id": body(event(properties={"mkt_order_id": ""})),
    "overflowing number": b'{"events":[{"name":"a","user_id":"u","properties":{"n":1e999}}]}',
    "deep value": body(event(properties={"x": [[[1]]]})),
    "null name": body(event(name=None)),
    "missing user": body({"name": "a"}),
    "empty batch": body(),
    "string first, number last": b'{"events":[{"name":"a","user_id":"u","name":5}]}',
    "events then empty events": b'{"events":[{"name":"a","user_id":"u"}],"events":[]}',
    "trailing text": body(event()) + b" x",
    "not an object": b"[]",
}


@pytest.mark.parametrize("raw", LONG_WAY.values(), ids=LONG_WAY.keys())
def test_doubtful_bodies_go_the_long_way(raw: bytes) -> None:
    assert check(raw, Settings()) is None


def test_a_body_that_cannot_name_a_reserved_property_is_not_searched_for_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gathering every property's name is a tenth of a plain body's check: it is left out where
    # the reserved prefix appears nowhere, and done where it appears anywhere, even outside a name
    gathered: list[object] = []
    monkeypatch.setattr(fastpath, "_PROPERTIES", lambda e: gathered.append(e) or e.properties)
    plain = body(*(event(properties={"note": "x"}) for _ in range(5)))
    assert check(plain, Settings()) == [None] * 5
    assert gathered == []
    prefixed = body(*(event(name="mkt_purchase", properties={"note": "x"}) for _ in range(5)))
    assert check(prefixed, Settings()) == [None] * 5
    assert len(gathered) == 5


@pytest.mark.parametrize("bad", ["2025-01-17 14:39:22Z", "2025-01-17T14:39:22Z\n", "", None])
def test_a_timestamp_among_repeated_ones_is_still_checked(bad: str | None) -> None:
    # each distinct timestamp is matched once: a refused one between copies of a good one
    # must still be seen, and a null one skipped
    good = "2025-01-17T14:39:22Z"
    stamps = [good, good, bad, good]
    raw = body(*(event(timestamp=stamp) for stamp in stamps))
    if bad is None:
        assert check(raw, Settings()) == [None] * 4
    else:
        assert check(raw, Settings()) is None
        assert full(raw, Settings()) is None


def test_settings_shape_the_fast_path() -> None:
    naive = body(event(timestamp="2025-01-17T14:39:22"))
    assert check(naive, SETTINGS["relaxed"]) is not None
    assert check(body(), SETTINGS["relaxed"]) == []
    assert check(body({"name": "a", "user_id": None}), SETTINGS["relaxed"]) == [None]
    assert check(body(event(properties={"mkt_revenue": "x"})), SETTINGS["unchecked"]) is not None
    assert check(body(event(name="a\u0001")), SETTINGS["unchecked"]) is not None
    assert check(body(event(name="123456789")), SETTINGS["small"]) is None
    assert check(body(event(name="\U0001f600" * 8)), SETTINGS["small"]) is not None  # characters, not bytes
    assert check(body(event(name="\U0001f600" * 9)), SETTINGS["small"]) is None
    assert check(body(event(properties={"a": 1, "b": 2, "c": 3, "d": 4})), SETTINGS["small"]) is None
    assert check(body(event(properties={"x": {"y": [1]}})), SETTINGS["small"]) is None
    assert check(body(event(), event(), event(), event()), SETTINGS["small"]) is None


# --- generated bodies ------------------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_RESERVED_NAMES = [*spec.EVENT_PROPERTY_TYPES, "mkt_page_params", "mkt_other"]
_WILD_EVENTS = st.fixed_dictionaries(
    {"name": st.one_of(st.text(max_size=10), _JSON)},
    optional={
        "user_id": st.one_of(st.text(max_size=10), _JSON),
        "id": st.one_of(st.text(max_size=10), _JSON),
        "timestamp": st.one_of(ms.timestamps(naive=True), ms.invalid_timestamps().map(lambda c: c[0]), _JSON),
        "properties": st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(_RESERVED_NAMES), st.text(max_size=5)), _JSON, max_size=4
            ),
            ms.properties(spec.EVENTS.path),
            _JSON,
        ),
        "extra": _JSON,
    },
)


def _dump(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode()


@settings(max_examples=fuzz_examples(400), deadline=None)
@given(
    value=st.one_of(
        ms.valid_bodies(spec.EVENTS.path, max_size=4),
        st.fixed_dictionaries({"events": st.lists(_WILD_EVENTS, max_size=4)}),
    ),
    ascii_only=st.booleans(),
    name=st.sampled_from(sorted(SETTINGS)),
)
def test_generated_bodies(value: Any, ascii_only: bool, name: str) -> None:
    check(_dump(value, ascii_only), SETTINGS[name])


@settings(max_examples=fuzz_examples(400), deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(SETTINGS)))
def test_mutated_bodies(data: st.DataObject, name: str) -> None:
    raw = _dump(data.draw(ms.valid_bodies(spec.EVENTS.path, max_size=3)), data.draw(st.booleans()))
    check(data.draw(mutations(raw)), SETTINGS[name])


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(case=ms.invalid_bodies(spec.EVENTS.path), name=st.sampled_from(sorted(SETTINGS)))
def test_invalid_cases(case: ms.InvalidCase, name: str) -> None:
    fast = check(case.content(), SETTINGS[name])
    if name == "default":
        assert fast is None


# --- properties that are reserved ones alone: one typed decode -------------------------------


def test_reserved_properties_alone_are_typed_in_the_one_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """A purchase body whose properties are reserved ones alone is judged without the general
    decode (no dicts built, none converted); one other property anywhere sends it the general
    way, to the same answer, and the next body from the same sender goes that way first."""
    s = Settings(max_batch_items=999)  # decoders of their own, which no other test moves
    decoders = _decoders_for(s)
    general, typed = decoders.events, decoders.reserved_only
    assert typed is not None
    taken: list[str] = []
    monkeypatch.setattr(decoders, "events", lambda raw: taken.append("general") or general(raw))
    monkeypatch.setattr(decoders, "reserved_only", lambda raw: taken.append("typed") or typed(raw))
    ids = [f"evt-{i:06d}" for i in range(50)]
    purchases = events_body(50, kind="purchase")
    events = json.loads(purchases)["events"]
    events[-1]["properties"]["channel"] = "app"  # the last event only
    mixed = json.dumps({"events": events}).encode()
    events[-1]["properties"] = {"mkt_items": [{"mkt_quantity": 1, "colour": "red"}]}  # in an item
    in_item = json.dumps({"events": events}).encode()
    expected = [
        (purchases, ["typed"]),
        (mixed, ["typed", "general"]),  # refused at its last event's key
        (mixed, ["general"]),
        (in_item, ["general"]),
        (purchases, ["general"]),  # which names reserved properties alone: the next is typed
        (purchases, ["typed"]),
        (in_item, ["typed", "general"]),
    ]
    for raw, way in expected:
        taken.clear()
        assert check(raw, s) == ids
        assert taken == way


def test_fewer_properties_allowed_than_reserved_ones_keep_the_general_way() -> None:
    # four reserved properties where three are allowed: an object of reserved keys alone may
    # hold eight, so the typed decode is not built, and the general way refuses the body
    few = Settings(max_properties=3)
    assert _decoders_for(few).reserved_only is None
    assert _decoders_for(Settings(max_properties=16)).reserved_only is not None
    four = {"mkt_revenue": 1.0, "mkt_order_id": "o", "mkt_url": "u", "mkt_page_path": "/"}
    assert check(body(event(properties=four)), few) is None
    assert full(body(event(properties=four)), few) is None
    assert check(body(event(properties=four)), Settings()) is not None


def test_unchecked_reserved_types_keep_the_general_way() -> None:
    # unchecked, the full validator walks an item list as a free value: a typed decode would
    # only refuse what the general way then accepts
    unchecked = Settings(check_reserved_properties=False)
    assert _decoders_for(unchecked).reserved_only is None
    items = body(event(properties={"mkt_items": [{"mkt_quantity": "many"}]}))
    assert check(items, unchecked) is not None
    assert full(items, unchecked) is not None
    assert full(items, Settings()) is None


@pytest.mark.parametrize("max_depth", [2, 4, 5])
@pytest.mark.parametrize("checked", [True, False])
def test_item_entries_past_max_depth_are_refused_typed_or_not(max_depth: int, checked: bool) -> None:
    # an entry of mkt_items sits at depth 6 (the list at 5): typed, it once passed at any depth
    shallow = Settings(max_depth=max_depth, check_reserved_properties=checked)
    assert _decoders_for(shallow).reserved_only is None
    items = body(event(properties={"mkt_items": [{"mkt_product_id": "p", "mkt_quantity": 1}]}))
    assert check(items, shallow) is None
    assert full(items, shallow) is None
    assert check(items, Settings(max_depth=6, check_reserved_properties=checked)) is not None


def test_a_reserved_type_that_carries_no_length_limit_keeps_the_general_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a timestamp's pattern says nothing of the strings' length limit that a free value keeps
    types = fastpath._Types(Settings())
    assert types.events_reserved_only() is not None
    monkeypatch.setitem(spec.EVENT_PROPERTY_TYPES, "mkt_expires_at", "timestamp")
    assert types.events_reserved_only() is None


_ENTRY_KEYS = st.sampled_from([*spec.ITEM_KEYS, "mkt_other", "note"])
_WILD_RESERVED = st.dictionaries(
    st.sampled_from([*spec.EVENT_PROPERTY_TYPES, *spec.EVENT_PROPERTY_NAMES_UNTYPED]),
    st.one_of(
        _JSON,
        st.lists(st.one_of(st.dictionaries(_ENTRY_KEYS, _JSON, max_size=4), _JSON), max_size=3),
        st.sampled_from([*spec.GENDERS, "male"]),
        ms.timestamps(naive=True),
        st.text(min_size=1, max_size=12),
    ),
    max_size=4,
)


@settings(max_examples=fuzz_examples(400), deadline=None)
@given(
    props=st.lists(
        st.one_of(ms.properties(spec.EVENTS.path, max_custom=0), _WILD_RESERVED, st.none()),
        min_size=1,
        max_size=4,
    ),
    ascii_only=st.booleans(),
    mutate=st.booleans(),
    name=st.sampled_from(sorted(SETTINGS)),
    data=st.data(),
)
def test_generated_bodies_of_reserved_properties_alone(
    props: list[dict[str, Any] | None], ascii_only: bool, mutate: bool, name: str, data: st.DataObject
) -> None:
    raw = _dump({"events": [event(properties=p) for p in props]}, ascii_only)
    check(data.draw(mutations(raw)) if mutate else raw, SETTINGS[name])


@pytest.mark.parametrize(
    ("text", "spells"),
    [
        (b'{"a":"plain"}', False),
        (b'{"a":"\\uc154\\ub300"}', False),  # Korean, as most encoders escape it
        (b'{"a":"\\"quoted\\"\\n\\t\\\\"}', False),
        (b'{"a":"\\u0073k_live"}', True),
        (b'{"a":"\\u003a"}', True),
        (b'{"a":"x\\/y"}', True),
        (b'{"a":"\\b"}', True),
        (b'{"a":"\\f"}', True),
    ],
)
def test_one_scan_tells_both_checks_whether_an_escape_may_spell_ascii(
    text: bytes, spells: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockserver import escapes

    scans = []
    real = escapes._ASCII_ESCAPE
    monkeypatch.setattr(
        escapes,
        "_ASCII_ESCAPE",
        type("Counted", (), {"search": lambda _s, raw: scans.append(raw) or real.search(raw)})(),
    )
    body = bytes(bytearray(text))  # a body of its own, as each request's is
    assert escapes.may_spell_ascii(body) is spells
    assert escapes.may_spell_ascii(body) is spells  # the journal asks after the validator
    assert len(scans) <= 1
    assert escapes.may_spell_ascii(bytes(bytearray(text))) is spells  # another body: asked anew
