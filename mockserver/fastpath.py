"""A quick yes for plain, valid event batches; :mod:`mockserver.validation` stays the authority.

pydantic-core spends most of its ~1.7 ms on a 1,000-event body building the dicts it returns,
which the event store never uses (it keeps the raw text). msgspec decodes the same body into
typed structs in ~0.6 ms. The types here are built from the same spec and settings and are at
least as strict as the full validator, so a body they accept is one the full validator accepts
with the same outcome: no warnings, the same item count and event ids. Anything else (any
error, an unknown field, an unknown ``mkt_`` property, an escape that could spell a control
character, a key that may be given twice) gets ``None``, and the full validator decides and
explains. ``tests/mockserver/test_fastpath.py`` checks that claim on generated valid, invalid
and mutated bodies.

Properties that are reserved ones alone (a purchase as the SDKs send it) are typed in the same
decode; other properties are decoded as free values, and their reserved ones' names and types
checked after.

Events only: the other endpoints' bodies are stored as parsed values, which must be exactly
the full validator's.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
import sys
import types
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

import msgspec

from mockserver import spec
from mockserver.bytesearch import occurs
from mockserver.duplicates import ESCAPED_COLON, may_have_duplicates
from mockserver.escapes import may_spell_ascii
from mockserver.settings import BODY_SETTINGS, Settings

__all__ = ["Accepted", "accept_events", "accepts_ahead"]

# Escapes that decode to a C0 control character the full validator refuses (JSON text cannot
# hold one raw), and with them a colon spelt as an escape, which the duplicate-key check would
# otherwise have to count in a second scan. A match anywhere, even after an escaped backslash,
# sends the body the long way.
_CONTROL_ESCAPE = re.compile(rb"\\(?:[bf]|u00[01]|u003[aA])")


# The types depend on the settings, so they are built at run time, where a type checker cannot
# follow: these helpers keep that in one place.
def _limited(kind: Any, **constraints: Any) -> Any:
    return Annotated[kind, msgspec.Meta(**constraints)]


def _either(*kinds: Any) -> Any:
    return functools.reduce(operator.or_, kinds)


def _list(item: Any) -> Any:
    return types.GenericAlias(list, (item,))


def _dict(value: Any) -> Any:
    return types.GenericAlias(dict, (str, value))


def _python_pattern(pattern: str) -> str:
    """A spec pattern for Python's ``re``: ``$`` would also match before a final newline."""
    assert pattern.startswith("^") and pattern.endswith("$"), pattern
    return rf"\A{pattern[1:-1]}\Z"


class _Types:
    """msgspec types for one set of settings, mirroring ``validation._Schemas``."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        length = settings.max_string_length
        self.str0 = _limited(str, max_length=length)
        self.str1 = _limited(str, min_length=1, max_length=length)
        # msgspec already refuses a number that overflows to infinity; the bounds say so twice
        self.number = _limited(float, ge=-sys.float_info.max, le=sys.float_info.max)
        self.scalar = _either(self.str0, int, self.number, bool, None)
        self.free = self.value(5)  # a property's value: the body 1, events 2, an event 3, properties 4

    def value(self, depth: int) -> Any:
        """A free-form value at ``depth``: scalars, and two levels of containers at most (deeper
        ones are rare and go the long way), as deep as ``max_depth`` allows."""
        if depth > self.s.max_depth or depth > 6:
            return self.scalar
        child = self.value(depth + 1)
        return _either(self.scalar, _list(child), _dict(child))

    def typed(self, kind: spec.PropertyType, name: str) -> Any:
        return _BY_PROPERTY_TYPE[kind](self, name)

    def objects(self, keys: dict[str, spec.PropertyType], name: str) -> Any:
        """An array of objects with reserved ``keys`` (items, coupons)."""
        return _list(self.reserved(keys, f"{name}_item"))

    def reserved(self, kinds: dict[str, spec.PropertyType], name: str) -> Any:
        """Reserved properties typed; any other key is skipped here and checked by ``free``."""
        fields = [(key, _either(self.typed(kind, key), None), None) for key, kind in kinds.items()]
        # gc=False: built only to be checked and dropped, they need no cycle tracking either
        return msgspec.defstruct(name, fields, gc=False)

    def reserved_only(self, kinds: dict[str, spec.PropertyType | None], name: str) -> Any:
        """An object of reserved keys alone, each typed (or free, where its type is None) and
        bounded as the general way bounds a free value; items and coupons hold such objects in
        turn. Any other key is refused. A key absent stays UNSET and one given null None, so
        the value encoded again keeps the keys the body gave (see mockserver.duplicates)."""
        fields = [
            (key, _either(self.typed_only(kind, key), None, msgspec.UnsetType), msgspec.UNSET)
            for key, kind in kinds.items()
        ]
        return msgspec.defstruct(name, fields, forbid_unknown_fields=True, gc=False)

    def typed_only(self, kind: spec.PropertyType | None, name: str) -> Any:
        """A reserved key's type where no other key may stand beside it; None: a free value."""
        if kind is None:
            return self.free
        nested = spec.OBJECT_KEYS[kind]
        return self.typed(kind, name) if nested is None else _list(self.reserved_only(dict(nested), name))

    def timestamp_pattern(self) -> str:
        return spec.timestamp_pattern(self.s.timestamp_format, naive=self.s.allow_naive_timestamps)

    def events(self, props: Any = None) -> Any:
        """Every field, the properties as ``props`` (by default any within the limits, their
        reserved ones' types left to check); no unknown field passes."""
        if props is None:
            props = _limited(_dict(self.free), max_length=self.s.max_properties)
        kinds: dict[str, Any] = {"string": self.str1, "timestamp": str, "properties": props}
        required: list[Any] = []
        optional: list[Any] = []
        for field in spec.ITEM_FIELDS["events"]:
            kind = kinds[field.kind]
            if self.s.requires(field):
                required.append((field.name, kind))
            else:
                # UNSET when absent, None when null: encoded again, each stays as it was sent
                # (see mockserver.duplicates)
                optional.append((field.name, _either(kind, None, msgspec.UnsetType), msgspec.UNSET))
        # Required fields come first in a struct; otherwise the spec's order, which is what
        # clients commonly send, so that a compact body is its own value encoded again (the
        # cheapest proof of no duplicate key, see mockserver.duplicates).
        # gc=False: a thousand structs that live for one request need no cycle tracking.
        event = msgspec.defstruct("Event", required + optional, forbid_unknown_fields=True, gc=False)
        batch = _limited(
            _list(event), min_length=self.s.min_batch_items("events"), max_length=self.s.max_items("events")
        )
        return msgspec.defstruct("Events", [("events", batch)], forbid_unknown_fields=True, gc=False)

    def events_properties(self) -> Any:
        return _list(self.reserved(spec.EVENT_PROPERTY_TYPES, "EventProperties"))

    def events_reserved_only(self) -> Any | None:
        """Events whose properties are reserved ones alone, typed in the one decode (no dicts
        built, none converted, no entries walked). None where the full validator leaves the
        reserved types unchecked (the decode would only refuse what it then accepts as free
        values), where the settings allow fewer properties than such an object may hold, where
        an item entry would sit deeper than ``max_depth`` allows (the full validator refuses it
        for its depth), or where a reserved type's value could break a free value's bounds that
        its type does not carry."""
        if not self.s.check_reserved_properties or self.s.max_depth < _ENTRY_DEPTH:
            return None
        kinds: dict[str, spec.PropertyType | None] = {
            **spec.EVENT_PROPERTY_TYPES,
            **dict.fromkeys(spec.EVENT_PROPERTY_NAMES_UNTYPED),
        }
        objects = list(spec.NESTED_KEYS["events"].values())
        if self.s.max_properties < max(len(kinds), *map(len, objects)):
            return None
        reachable = {*kinds.values(), *(kind for keys in objects for kind in keys.values())}
        if not reachable <= _BOUNDED_KINDS:
            return None
        return self.events(self.reserved_only(kinds, "ReservedProperties"))


#: The depth of an item or coupon entry: the body 1, events 2, an event 3, properties 4, the
#: list 5. The general way decodes such lists as free values first, bounded by ``max_depth``.
_ENTRY_DEPTH = 6

#: The reserved types whose msgspec types bound what a free value's bounds do (a string its
#: length; an item list its depth, by :data:`_ENTRY_DEPTH`). A date, timestamp or gender would
#: need the length limit added to its pattern or literal.
_BOUNDED_KINDS: frozenset[spec.PropertyType | None] = frozenset(
    {None, "string", "boolean", "integer", "number", "items", "coupons"}
)


#: The msgspec type of a reserved property of each type, from the types' builder and its name.
_BY_PROPERTY_TYPE: dict[spec.PropertyType, Callable[[_Types, str], Any]] = {
    "string": lambda builder, name: builder.str1,
    "boolean": lambda builder, name: bool,
    "integer": lambda builder, name: int,
    "number": lambda builder, name: builder.number,
    "date": lambda builder, name: _limited(str, pattern=_python_pattern(spec.BIRTH_DATE_PATTERN)),
    "timestamp": lambda builder, name: _limited(str, pattern=_python_pattern(builder.timestamp_pattern())),
    "gender": lambda builder, name: Literal[spec.GENDERS],
    "items": lambda builder, name: builder.objects(spec.ITEM_KEYS, name),
    "coupons": lambda builder, name: builder.objects(spec.COUPON_KEYS, name),
}
spec.check_table(_BY_PROPERTY_TYPE, "fastpath._BY_PROPERTY_TYPE")


class _Decoders:
    def __init__(self, settings: Settings) -> None:
        types = _Types(settings)
        self.events = msgspec.json.Decoder(types.events()).decode
        self.typed = types.events_properties()
        reserved_only = types.events_reserved_only()
        self.reserved_only: Callable[[bytes], Any] | None = (
            None if reserved_only is None else msgspec.json.Decoder(reserved_only).decode
        )
        #: whether the last body that named a reserved property named reserved ones alone:
        #: where it did not, the next goes the general way first
        self.reserved_first = True
        # one match over all timestamps joined by newlines, which no valid one holds (a value
        # that does adds a line, which the count of lines catches)
        inner = types.timestamp_pattern()[1:-1]
        self.timestamps = re.compile(rf"(?:{inner}\n)*")
        self.escapes = _CONTROL_ESCAPE if settings.reject_control_characters else ESCAPED_COLON
        # A required user id decodes as a string of one character or more: taken as it is.
        user_id = next(f for f in spec.ITEM_FIELDS["events"] if f.name == "user_id")
        self.users: Callable[[Iterable[Any]], list[str | None]] = (
            list if settings.requires(user_id) else _present
        )


@functools.lru_cache(maxsize=32)
def _decoders(key: tuple[Any, ...]) -> _Decoders:
    return _Decoders(Settings.from_mapping(dict(zip(BODY_SETTINGS, key, strict=True))))


#: the last settings seen, and their decoders: a server's settings object stays the same from one
#: request to the next, and reading sixteen of its fields for the cache's key cost more than a
#: one-event body's decoding
_last: tuple[Settings, _Decoders] | None = None


def _decoders_for(settings: Settings) -> _Decoders:
    global _last
    last = _last
    if last is not None and last[0] is settings:
        return last[1]
    decoders = _decoders(tuple(getattr(settings, name) for name in BODY_SETTINGS))
    _last = (settings, decoders)
    return decoders


_TIMESTAMP, _PROPERTIES, _ID, _USER = (
    operator.attrgetter(name) for name in ("timestamp", "properties", "id", "user_id")
)
_TYPED = frozenset(spec.EVENT_PROPERTY_TYPES)
_KNOWN = _TYPED | spec.EVENT_PROPERTY_NAMES_UNTYPED
_RESERVED_PREFIX = b"mkt_"
assert all(name.startswith(_RESERVED_PREFIX.decode()) for name in _KNOWN), _KNOWN


#: each event's id and user id, in order
Accepted = tuple[list[str | None], list[str | None]]

#: the last body judged ahead of its request by :func:`accepts_ahead`, with the settings it was
#: judged under and the verdict, until :func:`accept_events` takes it. While it is held, the
#: body is referenced, so no other body can take its identity; one left behind (a request
#: refused before validation) is held until the next is judged ahead.
_ahead: tuple[bytes, Settings, Accepted | None] | None = None


def accepts_ahead(raw: bytes, settings: Settings) -> bool:
    """Whether :func:`accept_events` accepts ``raw``, asked before its request is answered
    (to choose where to answer it). The verdict is kept for the answer, not worked out twice."""
    global _ahead
    ahead = _ahead
    if ahead is None or ahead[0] is not raw or ahead[1] is not settings:
        ahead = _ahead = (raw, settings, _accept(raw, settings))
    return ahead[2] is not None


def accept_events(raw: bytes, settings: Settings) -> Accepted | None:
    """Each event's id and user id if ``raw`` is an events body the full validator accepts
    without a warning; ``None`` when unsure (the full validator then decides)."""
    global _ahead
    ahead = _ahead
    if ahead is not None and ahead[0] is raw and ahead[1] is settings:
        _ahead = None
        return ahead[2]
    return _accept(raw, settings)


def _accept(raw: bytes, settings: Settings) -> Accepted | None:
    decoders = _decoders_for(settings)
    spelled = may_spell_ascii(raw)
    if spelled and decoders.escapes.search(raw):
        return None
    # A body that holds no such bytes, nor an escape that could spell them, names no reserved
    # property: gathering the properties' names would cost a tenth of a plain body's check.
    reserved = spelled or occurs(_RESERVED_PREFIX, raw)
    batch = None
    reserved_only = decoders.reserved_only if reserved and decoders.reserved_first else None
    tried = reserved_only is not None
    if reserved_only is not None:
        # Properties that are reserved ones alone (a shop's purchases, as the SDKs send them)
        # are typed in the one decode. A body with any other property is refused at its first
        # such key, and goes the general way: up to a whole decode lost, where that key comes
        # last. A sender's bodies tend to look alike, so the next goes the general way first.
        try:
            batch = reserved_only(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            decoders.reserved_first = False
    if batch is None:
        try:
            batch = decoders.events(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):  # a key that is not UTF-8 raises the latter
            return None
        if reserved:
            alone = _plain_reserved(batch.events, decoders, settings)
            if alone is None:
                return None
            if not tried:
                decoders.reserved_first = alone  # the typed decode would have taken this one
    events = batch.events
    # map over attrgetter: a third cheaper than a loop; a set, as a batch often repeats a
    # timestamp and each distinct one need be matched only once
    stamps = set(map(_TIMESTAMP, events))
    if not all(stamps):  # absent or null (an empty string is refused by the pattern below)
        stamps = {stamp for stamp in stamps if isinstance(stamp, str)}
    if stamps:
        joined = "\n".join(stamps) + "\n"
        if joined.count("\n") != len(stamps) or not decoders.timestamps.fullmatch(joined):
            return None
    # no colon is spelt as an escape (see above)
    if may_have_duplicates(raw, batch, escaped_colons=False):
        return None  # the full validator names the duplicate keys
    ids = list(map(_ID, events))
    # Most batches give no event an id: one count in C rather than a step of Python per event.
    ids = [None] * len(ids) if ids.count(msgspec.UNSET) == len(ids) else _present(ids)
    return ids, decoders.users(map(_USER, events))


def _plain_reserved(events: list[Any], decoders: _Decoders, settings: Settings) -> bool | None:
    """None where the events' properties, decoded as free values, name an unknown reserved
    property or give a known one a value not of its type (the full validator warns about the
    first and refuses the second); otherwise whether they were reserved ones alone."""
    props = list(filter(None, map(_PROPERTIES, events)))
    if not props:
        return True
    names = set().union(*props)
    # One search in C over the names joined rather than a step of Python per name; a name
    # holding a newline may look reserved here, and only goes the long way.
    unknown = names - _KNOWN
    if unknown and "\nmkt_" in "\n" + "\n".join(unknown):
        return None
    alone = not unknown
    if not _NESTED.keys().isdisjoint(names):
        others = _plain_nested(props, settings.max_properties)
        if others is None:
            return None
        alone = alone and not others
    if settings.check_reserved_properties and not names.isdisjoint(_TYPED):
        try:  # from the decoded dicts: twice as fast as decoding the text again
            msgspec.convert(props, decoders.typed)
        except msgspec.ValidationError:
            return None
    return alone


_NESTED = spec.NESTED_KEYS["events"]  # mkt_items: its entries' reserved keys


def _plain_nested(props: list[dict[str, Any]], most: int) -> set[str] | None:
    """None unless every item entry is an object of at most ``most`` keys and no unknown
    ``mkt_`` key (the full validator refuses the first and warns about the second); otherwise
    the entries' keys that are not reserved."""
    others: set[str] = set()
    for prop, keys in _NESTED.items():
        lists = [entries for p in props if (entries := p.get(prop)) is not None]
        if not lists:
            continue
        # set, map and chain: no Python-level step per entry (a generator per list and per
        # entry cost a tenth of a 1,000-purchase body's validation)
        if set(map(type, lists)) != {list}:
            return None
        entries = list(itertools.chain.from_iterable(lists))
        if not entries:
            continue
        if set(map(type, entries)) != {dict} or max(map(len, entries)) > most:
            return None
        unknown = set().union(*entries) - keys.keys()
        if any(k.startswith("mkt_") for k in unknown):
            return None
        others |= unknown
    return others


def _present(values: Iterable[Any]) -> list[str | None]:
    return [value or None for value in values]  # UNSET (absent) and null alike: None
