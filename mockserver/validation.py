"""Body validation for the five endpoints: pure Python, no Flask.

The schemas are pydantic-core schemas built from :mod:`mockserver.spec` and the settings, so
parsing and checking a 1,000-event body is one pass in compiled code that collects *every*
violation (not just the first) with its location. What pydantic does not decide the way the
contract wants is done here on top:

* timestamps: pydantic's ``datetime`` accepts forms the contract rejects (a space separator,
  digit strings), so they are strings matched by :func:`spec.timestamp_pattern`, a pattern
  that knows the calendar; a refusal is explained in words by :func:`explain_timestamp`;
* free-form values (custom properties, unknown fields) go through a depth-bounded JSON value
  schema that rejects non-finite numbers, over-long strings, control characters and nesting
  deeper than ``max_depth``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec
from pydantic_core import PydanticCustomError, SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from mockserver import fastpath, names, spec
from mockserver.bytesearch import occurs
from mockserver.duplicates import duplicate_keys, may_have_duplicates
from mockserver.errors import ApiError, FieldError
from mockserver.journal import parse_json, parse_split
from mockserver.settings import BODY_SETTINGS, Settings

__all__ = ["Validated", "field_path", "validate_body", "validate_body_fully", "validator_for"]

RFC3339 = "RFC 3339 (ISO 8601 extended form with a time zone, such as 2025-01-17T05:39:22Z)"
TIMESTAMP_REASON = f"not a date-time in the required form: {RFC3339}"
TIMESTAMP_NAIVE_REASON = "not a date-time in the required form: RFC 3339 (such as 2025-01-17T05:39:22)"
ISO_TIMESTAMP_REASON = "not an ISO 8601 complete date-time with a time zone (such as 20250117T053922Z)"
DATE_REASON = "not a date in the form YYYY-MM-DD"
# C0 controls other than tab, LF and CR.
_CONTROL_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
_CONTROL_CHARS = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


class Validated(msgspec.Struct, frozen=True):
    """An accepted body and the warnings worth journaling (unknown fields and properties).

    A msgspec struct: every accepted request makes one, and a frozen dataclass costs several
    times as much to make."""

    #: the parsed body; None for events, whose raw text is what the store keeps
    body: dict[str, Any] | None
    warnings: list[str]
    #: how many items the body carries (events, profiles, devices, user ids)
    items: int = 1
    #: for events, each one's ``id`` and ``user_id`` (or None): with the raw text, all that
    #: storing them needs (de-duplication, and deletion by user without parsing again)
    event_ids: list[str | None] | None = None
    event_users: list[str | None] | None = None


def field_path(loc: Sequence[str | int]) -> str:
    """``("events", 3, "timestamp")`` -> ``"events[3].timestamp"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


# --- checks pydantic cannot express -----------------------------------------------------------


# Loose shapes, on the error path only: each finds what a refused timestamp was meant to be.
_LOOSE = re.compile(
    r"(?P<date>\d{4}-?\d{2}-?\d{2})(?P<sep>[Tt ]?)(?P<time>\d{2}:?\d{2}(?::?\d{2})?)"
    r"(?P<fraction>[.,]\d+)?(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_ISO_ONLY = "ISO 8601, but not the form required"


def explain_timestamp(value: str, *, naive_ok: bool = False, timestamp_format: str = "rfc3339") -> str:
    """Why ``value`` is not an acceptable timestamp, in words (error path only)."""
    iso = timestamp_format == "iso8601"
    required = ISO_TIMESTAMP_REASON if iso else (TIMESTAMP_NAIVE_REASON if naive_ok else TIMESTAMP_REASON)
    shape = _LOOSE.fullmatch(value)
    if not shape:
        return required
    date_part, sep, time_part, zone = shape["date"], shape["sep"], shape["time"], shape["zone"]
    impossible = _impossible(date_part.replace("-", ""), time_part.replace(":", ""), zone)
    if impossible:
        return impossible
    if sep == " ":
        return (
            "a space separates the date and the time (as Python's str(datetime) prints); "
            f"{RFC3339 if not iso else 'ISO 8601'} requires 'T': use datetime.isoformat()"
        )
    if not sep:
        return required
    if zone is None and not naive_ok:
        return f"{required}: the time zone is missing; add Z or an offset such as +09:00"
    extended = "-" in date_part and ":" in time_part
    basic = "-" not in date_part and ":" not in time_part
    if not (extended or basic) or len(time_part.replace(":", "")) != 6:
        return required  # a mixed or reduced form
    if iso:
        return required
    return f"{_ISO_ONLY}: {RFC3339} (setting timestamp_format: iso8601 accepts it)"


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _impossible(ymd: str, hms: str, zone: str | None) -> str | None:
    """The calendar or clock field that cannot be, in words; None if all can."""
    year, month, day = int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8])
    if year == 0:
        return "year 0000 does not exist: years run from 0001 to 9999"
    if not 1 <= month <= 12:
        return f"month {ymd[4:6]} does not exist"
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 28 if month == 2 and not leap else _MONTH_DAYS[month - 1]
    if not 1 <= day <= days:
        return f"day {ymd[6:8]} does not exist: {year:04d}-{month:02d} has {days} days"
    hour, minute, second = hms[:2], hms[2:4], hms[4:6] or "00"
    if int(hour) > 23:
        return f"hour {hour} does not exist: hours run from 00 to 23 (midnight is 00:00 of the next day)"
    if int(minute) > 59:
        return f"minute {minute} does not exist: minutes run from 00 to 59"
    if second == "60":
        # RFC 3339 and ISO 8601 both allow a leap second; the fake refuses it all the same, and
        # says why rather than claiming it cannot exist.
        return (
            "second 60 (a leap second) is refused: RFC 3339 allows it only at the end of a day "
            "one is inserted (none since 2016-12-31), and Python's datetime, like many parsers, "
            "cannot hold it; send 59"
        )
    if int(second) > 59:
        return f"second {second} does not exist: seconds run from 00 to 59"
    if zone and zone not in "Zz":
        digits = zone[1:].replace(":", "")
        if int(digits[:2]) > 23 or (len(digits) > 2 and int(digits[2:]) > 59):
            return f"offset {zone} does not exist: offsets run from -23:59 to +23:59"
    return None


def explain_date(value: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return DATE_REASON
    return _impossible(value.replace("-", ""), "000000", None) or DATE_REASON


# --- schema builders -------------------------------------------------------------------------


class _Schemas:
    """Builds the core schemas for one set of settings."""

    def __init__(self, settings: Settings, *, escapes: bool = True, reserved: bool = True) -> None:
        self.s = settings
        self.reserved = reserved and settings.check_reserved_properties
        self.control = escapes and settings.reject_control_characters

    def string(self, *, min_length: int = 1) -> cs.CoreSchema:
        pattern = _CONTROL_PATTERN if self.control else None
        return cs.str_schema(
            min_length=min_length, max_length=self.s.max_string_length, pattern=pattern, strict=True
        )

    def timestamp(self) -> cs.CoreSchema:
        pattern = spec.timestamp_pattern(self.s.timestamp_format, naive=self.s.allow_naive_timestamps)
        return cs.str_schema(pattern=pattern, strict=True)

    def value(self, depth: int) -> cs.CoreSchema:
        """Any JSON value found at nesting ``depth`` (the body itself is depth 1).

        Scalars are checked in compiled code. Containers are rare in free-form values and a
        depth-bounded recursive schema grows exponentially, so they are walked in Python.
        """
        return cs.union_schema(
            [
                self.string(min_length=0),
                cs.bool_schema(strict=True),
                cs.int_schema(strict=True),
                cs.float_schema(strict=True, allow_inf_nan=False),
                cs.none_schema(),
                cs.no_info_plain_validator_function(
                    functools.partial(_check_container, settings=self.s, depth=depth)
                ),
            ],
            mode="left_to_right",
            custom_error_type="json_value",
            custom_error_message="not an acceptable JSON value",
        )

    def typed(self, kind: spec.PropertyType, depth: int) -> cs.CoreSchema:
        return _BY_PROPERTY_TYPE[kind](self, depth)

    def objects(self, keys: dict[str, spec.PropertyType], depth: int) -> cs.CoreSchema:
        """An array (at ``depth + 1``) of objects (at ``depth + 2``) with reserved ``keys``
        (items, coupons), nested no deeper than ``max_depth``: typed or not, a body holds no
        container deeper than that (unchecked, the array is a free value, bounded the same)."""
        entry = self.props(keys, depth + 2)
        if depth + 2 > self.s.max_depth:
            entry = self.shallow(entry, dict)
        array = cs.list_schema(entry, strict=True)
        return self.shallow(array, list) if depth + 1 > self.s.max_depth else array

    def shallow(self, schema: cs.CoreSchema, container: type) -> cs.CoreSchema:
        """``schema`` at a depth past ``max_depth``: a ``container`` there is refused for its
        depth, first, as a free value is; anything else is left to ``schema`` to refuse."""
        return cs.no_info_before_validator_function(
            functools.partial(_refuse_container, container=container, limit=self.s.max_depth), schema
        )

    def props(self, types: dict[str, spec.PropertyType], depth: int) -> cs.CoreSchema:
        """A properties object at ``depth``: reserved keys typed, other keys free.

        Its size limit is checked in :func:`_scan`: a length check here costs a second pass.
        """
        if not self.reserved:
            return cs.dict_schema(cs.str_schema(), self.value(depth + 1), strict=True)
        fields = {
            name: cs.typed_dict_field(cs.nullable_schema(self.typed(kind, depth)), required=False)
            for name, kind in types.items()
        }
        return cs.typed_dict_schema(
            fields, extra_behavior="allow", extras_schema=self.value(depth + 1), strict=True
        )

    def obj(self, fields: dict[str, tuple[cs.CoreSchema, bool]], depth: int) -> cs.CoreSchema:
        """An object of known fields (optional ones may be null) that tolerates unknown ones."""
        return cs.typed_dict_schema(
            {
                name: cs.typed_dict_field(
                    schema if required else cs.nullable_schema(schema), required=required
                )
                for name, (schema, required) in fields.items()
            },
            extra_behavior="allow",
            extras_schema=self.value(depth + 1),
            strict=True,
        )

    def batch(self, key: str, item: cs.CoreSchema) -> cs.CoreSchema:
        items = cs.list_schema(
            item, min_length=self.s.min_batch_items(key), max_length=self.s.max_items(key), strict=True
        )
        return self.obj({key: (items, True)}, 1)

    def field(self, field: spec.Field, key: str) -> tuple[cs.CoreSchema, bool]:
        required = self.s.requires(field)
        if field.kind == "string":
            schema = self.string()
        elif field.kind == "timestamp":
            schema = self.timestamp()
        elif field.kind == "platform":
            schema = cs.literal_schema(list(spec.DEVICE_PLATFORMS))
        elif field.kind == "boolean":
            schema = cs.bool_schema(strict=True)
        else:
            schema = self.props(spec.PROPERTY_TYPES[key], 4)
        return schema, required

    def endpoint(self, endpoint: spec.Endpoint) -> cs.CoreSchema:
        if endpoint is spec.DELETION:
            return self.obj({"user_id": (self.string(), True)}, 1)
        if endpoint is spec.BULK_DELETION:
            return self.batch("user_ids", self.string())
        key = endpoint.key
        item = self.obj({f.name: self.field(f, key) for f in spec.ITEM_FIELDS[key]}, 3)
        return self.batch(key, item)


#: The schema of a reserved property of each type, from the schemas' builder and the depth.
_BY_PROPERTY_TYPE: dict[spec.PropertyType, Callable[[_Schemas, int], cs.CoreSchema]] = {
    "string": lambda schemas, depth: schemas.string(),
    "boolean": lambda schemas, depth: cs.bool_schema(strict=True),
    "integer": lambda schemas, depth: cs.int_schema(strict=True),
    "number": lambda schemas, depth: cs.float_schema(strict=True, allow_inf_nan=False),
    "date": lambda schemas, depth: cs.str_schema(pattern=spec.BIRTH_DATE_PATTERN, strict=True),
    "timestamp": lambda schemas, depth: schemas.timestamp(),
    "gender": lambda schemas, depth: cs.literal_schema(list(spec.GENDERS)),
    "items": lambda schemas, depth: schemas.objects(spec.ITEM_KEYS, depth),
    "coupons": lambda schemas, depth: schemas.objects(spec.COUPON_KEYS, depth),
}
spec.check_table(_BY_PROPERTY_TYPE, "validation._BY_PROPERTY_TYPE")


def _refuse_container(value: Any, container: type, limit: int) -> Any:
    if isinstance(value, container):
        raise PydanticCustomError("too_deep", "nested deeper than {limit} levels", {"limit": limit})
    return value


def _check_container(value: Any, settings: Settings, depth: int) -> Any:
    if not isinstance(value, (dict, list)) or next(_value_errors(value, [], settings, depth), None):
        raise PydanticCustomError("json_value", "not an acceptable JSON value")
    return value


@functools.lru_cache(maxsize=128)
def _validator(endpoint_path: str, key: tuple[Any, ...], escapes: bool, reserved: bool) -> SchemaValidator:
    settings = Settings.from_mapping(dict(zip(BODY_SETTINGS, key, strict=True)))
    endpoint = spec.endpoint_for(endpoint_path)
    assert endpoint is not None
    return SchemaValidator(_Schemas(settings, escapes=escapes, reserved=reserved).endpoint(endpoint))


def validator_for(endpoint: spec.Endpoint, settings: Settings, raw: bytes = b"\\") -> SchemaValidator:
    """The compiled validator for ``endpoint`` under ``settings``, fitted to ``raw`` (cached).

    Two checks cost a sizeable share of the validation time, so they are left out when the
    raw text proves them moot:

    * the control-character pattern, when ``raw`` holds no backslash: JSON forbids raw control
      characters in strings, so only an escape can bring one in;
    * typing reserved properties, when no reserved name (nor any escape, which could spell one)
      is in ``raw``.

    Without ``raw``, both run.
    """
    escapes = b"\\" in raw
    reserved = escapes or occurs(_RESERVED_MARK[endpoint.key], raw)
    key = tuple(getattr(settings, n) for n in BODY_SETTINGS)
    return _validator(endpoint.path, key, escapes, reserved)


#: What every reserved property name of an endpoint's items contains.
_RESERVED_MARK = {
    "profiles": b"mkt_",
    "events": b"mkt_",
    "devices": b"opt_in",
    "user_id": b"",
    "user_ids": b"",
}


# --- the entry point -------------------------------------------------------------------------


def validate_body(endpoint: spec.Endpoint, raw: bytes, settings: Settings) -> Validated:
    """Parse and check ``raw`` (UTF-8 JSON) for ``endpoint``; raise a 400 listing every violation.

    A plain events body is accepted by :mod:`mockserver.fastpath` in a third of the time; any
    other body, and any the fast path is unsure of, goes through :func:`validate_body_fully`.
    """
    if endpoint is spec.EVENTS and (accepted := fastpath.accept_events(raw, settings)) is not None:
        ids, users = accepted
        return Validated(None, [], len(ids), ids, users)
    return validate_body_fully(endpoint, raw, settings)


def validate_body_fully(endpoint: spec.Endpoint, raw: bytes, settings: Settings) -> Validated:
    """:func:`validate_body` without the fast path: the authority on what is accepted."""
    if not raw.strip():
        raise ApiError.one(400, "body", "required: the body is empty", message=endpoint.bad_request_message)
    limit = settings.max_items(endpoint.key)
    split = _split(endpoint.key, raw, limit) if endpoint.bulk and len(raw) >= SHORTEN_FROM else None
    judged = raw if split is None else _cut(endpoint.key, *split, limit)
    lengths: dict[tuple[int | str, ...], int] = {} if split is None else {(endpoint.key,): len(split[1])}
    try:
        body: dict[str, Any] = validator_for(endpoint, settings, judged).validate_json(judged)
    except ValidationError as exc:
        errors = _field_errors(exc, settings, lengths)
        parsed = parse_json(raw) if split is None else parse_split(raw, endpoint.key, *split)
        if isinstance(parsed, dict):
            errors += _first_items_errors(endpoint, parsed, settings, errors)
            errors += _scan(endpoint, parsed, settings, valid=False)[0]
        raise ApiError(
            400,
            errors,
            message=endpoint.bad_request_message,
            items=endpoint.count_items(parsed),
            counted=True,
        ) from None
    errors, warnings = _scan(endpoint, body, settings)
    if errors:
        raise ApiError(400, errors, message=endpoint.bad_request_message)
    if may_have_duplicates(raw, body):
        warnings += [f"{path}: duplicate key; the last occurrence wins" for path in duplicate_keys(raw)]
    value = body[endpoint.key]
    if endpoint is spec.EVENTS:
        return Validated(
            None, warnings, len(value), [e.get("id") for e in value], [e.get("user_id") for e in value]
        )
    return Validated(body, warnings, len(value) if isinstance(value, list) else 1)


#: A bulk body at least this large is checked for too many items before it is validated whole.
SHORTEN_FROM = 1 << 20

_MEMBERS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


def _split(key: str, raw: bytes, limit: int) -> tuple[dict[str, Any], list[Any]] | None:
    """The members of a body whose ``key`` lists more than ``limit + 1`` items, and the texts
    of those items; None for any other body.

    The validator refuses such a body as it refuses it cut to ``limit + 1`` items (:func:`_cut`):
    too many items, and nothing about the items themselves (those of the first ``limit`` are
    found apart, see :func:`_first_items_errors`). Yet it reads the whole text before it judges,
    in one call that holds the GIL: a third of a second for a body of 250,000 items near the
    size limit, while every other request waits. Finding where each member and item ends
    (msgspec, a twentieth of that) is enough to cut it, and to parse it in pieces
    (:func:`~mockserver.journal.parse_split`)."""
    try:
        members = _MEMBERS.decode(raw)
        items = _ITEMS.decode(members[key])
    except (msgspec.DecodeError, UnicodeDecodeError, KeyError):
        return None  # not that shape: the validator reads it whole and explains
    return (members, items) if len(items) > limit + 1 else None


def _cut(key: str, members: dict[str, Any], items: list[Any], limit: int) -> bytes:
    """The body of ``members`` with only the first ``limit + 1`` of its ``items``, each item and
    every other member byte for byte."""
    cut = msgspec.Raw(b"[" + b",".join(items[: limit + 1]) + b"]")
    return msgspec.json.encode({**members, key: cut})


def _first_items_errors(
    endpoint: spec.Endpoint, body: dict[str, Any], settings: Settings, errors: list[FieldError]
) -> list[FieldError]:
    """A batch over the limit is refused before its items are read (a body of a million items
    must not cost a million errors): the errors of its first items up to the limit, found
    again on them alone."""
    key, limit = endpoint.key, settings.max_items(endpoint.key)
    items = body.get(key)
    if not isinstance(items, list) or len(items) <= limit or not any(e.field == key for e in errors):
        return []
    first = json.dumps({**body, key: items[:limit]}, allow_nan=False).encode()
    try:
        validator_for(endpoint, settings, first).validate_json(first)
    except ValidationError as exc:
        return [e for e in _field_errors(exc, settings) if e.field.startswith(f"{key}[")]
    return []


_KNOWN_FIELDS: dict[str, frozenset[str]] = {
    key: frozenset(f.name for f in fields) for key, fields in spec.ITEM_FIELDS.items()
}
#: Per batch, its reserved property names in the spec's order (common ones first: a tie in a
#: suggestion goes to them); a dict, for that order and quick membership alike.
_RESERVED: dict[str, dict[str, None]] = {
    key: dict.fromkeys([*types, *(sorted(spec.EVENT_PROPERTY_NAMES_UNTYPED) if key == "events" else [])])
    for key, types in spec.PROPERTY_TYPES.items()
}


def _scan(
    endpoint: spec.Endpoint, body: dict[str, Any], settings: Settings, *, valid: bool = True
) -> tuple[list[FieldError], list[str]]:
    """Property counts (errors) and unknown fields (warnings).

    Set operations over all items at once find whether anything is to report; only then are
    the items walked one by one. Also runs on bodies that failed the schema, so it guards
    every type it touches.
    """
    errors: list[FieldError] = []
    warnings = [f"{k}: unknown field ignored" for k in body if k != endpoint.key]
    known = _KNOWN_FIELDS.get(endpoint.key)
    items = body.get(endpoint.key)
    if known is None or not isinstance(items, list):
        return errors, warnings
    name = endpoint.key
    dicts = items if valid else [item for item in items if isinstance(item, dict)]
    if not set().union(*dicts) <= known:
        warnings += [
            f"{name}[{i}].{k}: unknown field ignored"
            for i, item in enumerate(items)
            if isinstance(item, dict)
            for k in sorted(item.keys() - known)
        ]
    if valid:
        props = [p for item in dicts if (p := item.get("properties"))]
    else:
        props = [p for item in dicts if isinstance(p := item.get("properties"), dict)]
    if props and max(map(len, props)) > settings.max_properties:
        most = settings.max_properties
        errors += [
            FieldError(f"{name}[{i}].properties", f"more than {most} properties ({len(p)})")
            for i, item in enumerate(items)
            if isinstance(item, dict) and isinstance(p := item.get("properties"), dict) and len(p) > most
        ]
    reserved = _RESERVED[name]
    unknown: list[tuple[str, str, Iterable[str]]] = []  # path, key, what it could mean
    if any(k.startswith("mkt_") for k in set().union(*props) - reserved.keys()):
        unknown += [
            (f"{name}[{i}].properties.{k}", k, reserved)
            for i, item in enumerate(items)
            if isinstance(item, dict) and isinstance(p := item.get("properties"), dict)
            for k in p
            if k.startswith("mkt_") and k not in reserved
        ]
    nested = spec.NESTED_KEYS[name]
    if nested and not nested.keys().isdisjoint(set().union(*props)):
        for at, entry, keys in _nested_entries(name, items, nested):
            if len(entry) > settings.max_properties:
                errors.append(FieldError(at, f"more than {settings.max_properties} keys ({len(entry)})"))
            unknown += [(f"{at}.{k}", k, keys) for k in entry if k.startswith("mkt_") and k not in keys]
    for path, key, meant in unknown:
        why = f"unknown reserved key{names.did_you_mean(key, meant)}"
        if settings.reject_unknown_reserved:
            errors.append(FieldError(path, f"{why} (setting reject_unknown_reserved)"))
        else:
            warnings.append(f"{path}: {why}")
    return errors, warnings


def _nested_entries(
    name: str, items: list[Any], nested: dict[str, dict[str, spec.PropertyType]]
) -> Iterator[tuple[str, dict[str, Any], dict[str, spec.PropertyType]]]:
    """Each item or coupon object in the batch's properties: its path, itself, its reserved keys."""
    for i, item in enumerate(items):
        p = item.get("properties") if isinstance(item, dict) else None
        if not isinstance(p, dict):
            continue
        for prop, keys in nested.items():
            entries = p.get(prop)
            for j, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, dict):
                    yield f"{name}[{i}].properties.{prop}[{j}]", entry, keys


# --- errors ----------------------------------------------------------------------------------

_REASONS = {
    "missing": "required",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_too_long": "longer than {max_length} characters",
    "bool_type": "must be a boolean (true or false)",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer, written without a fraction or exponent (1, not 1.0)",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "list_type": "must be an array",
    "too_long": "at most {max_length} items allowed, got {actual_length}",
    "dict_type": "must be an object",
    "typed_dict_type": "must be an object",
}


def _field_errors(
    exc: ValidationError, settings: Settings, lengths: Mapping[tuple[int | str, ...], int] | None = None
) -> list[FieldError]:
    """Each of the validator's errors as a field and a reason. ``lengths``: the real length of a
    list the validator saw cut short (see :func:`_cut`), by its location."""
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc, kind, ctx = err["loc"], err["type"], err.get("ctx") or {}
        if kind == "too_long" and lengths and loc in lengths:
            ctx = {**ctx, "actual_length": lengths[loc]}
        if kind == "json_invalid":
            out.append(FieldError("body", f"not valid JSON: {ctx.get('error', err['msg'])}"))
            continue
        if not loc and kind in ("dict_type", "typed_dict_type", "model_type"):
            out.append(FieldError("body", "must be a JSON object"))
            continue
        path = field_path(loc)
        if kind == "json_value":
            out.extend(_value_errors(err["input"], list(loc), settings, len(loc) + 1))
            continue
        if kind == "too_short":
            reason = (
                "must not be empty"
                if ctx.get("min_length") == 1
                else f"at least {ctx.get('min_length')} items"
            )
        elif kind == "literal_error":
            reason = f"must be one of {ctx.get('expected')}"
        elif kind == "string_pattern_mismatch":
            reason = _explain_pattern(ctx.get("pattern", ""), err["input"], settings)
        elif kind == "int_type" and isinstance(err["input"], float) and err["input"].is_integer():
            reason = _REASONS["int_from_float"]
        elif kind in _REASONS:
            reason = _REASONS[kind].format(**ctx)
        else:
            reason = err["msg"]
        out.append(FieldError(path, reason))
    return out


def _explain_pattern(pattern: str, value: str, settings: Settings) -> str:
    if pattern == spec.BIRTH_DATE_PATTERN:
        return explain_date(value)
    if pattern in spec.TIMESTAMP_PATTERNS:
        return explain_timestamp(
            value, naive_ok=settings.allow_naive_timestamps, timestamp_format=settings.timestamp_format
        )
    return "holds a control character"


def _value_errors(value: Any, loc: list[str | int], settings: Settings, depth: int) -> Iterator[FieldError]:
    """Say precisely why a free-form value was refused (runs only on the error path)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield FieldError(field_path(loc), "must be a finite number (no NaN, Infinity or overflow)")
    elif isinstance(value, str):
        if len(value) > settings.max_string_length:
            yield FieldError(field_path(loc), f"longer than {settings.max_string_length} characters")
        elif settings.reject_control_characters and not _CONTROL_CHARS.isdisjoint(value):
            yield FieldError(field_path(loc), "holds a control character")
    elif isinstance(value, (dict, list)):
        if depth > settings.max_depth:
            yield FieldError(field_path(loc), f"nested deeper than {settings.max_depth} levels")
            return
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            yield from _value_errors(child, [*loc, key], settings, depth + 1)
