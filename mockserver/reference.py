"""The README's field reference, written from :mod:`mockserver.spec`: each body's fields and
each reserved property, with type, whether required, limits and evidence.

``python -m mockserver.reference`` prints it; ``--write README.md`` replaces the part of the
README between its markers. A test fails when the README and the spec differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mockserver import spec

__all__ = ["BEGIN", "END", "field_reference", "main"]

BEGIN = "<!-- field-reference: written by `python -m mockserver.reference --write README.md` -->"
END = "<!-- field-reference: end -->"

#: a field's type, and its limits with the settings that move them
_FIELD_TYPES = {
    "string": ("string", f"not empty; at most {spec.MAX_STRING_LENGTH:,} characters (`max_string_length`)"),
    "timestamp": (
        "string: a date-time",
        "RFC 3339 with a zone (`timestamp_format`, `allow_naive_timestamps`)",
    ),
    "properties": (
        "object: reserved keys typed (below), other keys any JSON value",
        f"at most {spec.MAX_PROPERTIES:,} keys (`max_properties`)",
    ),
    "platform": ("string: `android`, `ios` or `web`", ""),
    "boolean": ("boolean", ""),
}
_PROPERTY_TYPES = {
    "string": "string, not empty",
    "boolean": 'boolean (`"false"` is a 400)',
    "integer": "integer, written without a fraction or exponent (`1.0` is a 400)",
    "number": "finite number",
    "date": "string `YYYY-MM-DD`, a real date",
    "timestamp": "string: an RFC 3339 date-time with a zone",
    "gender": "`Male`, `Female`, `Other` or `Unknown`",
    "items": "array of item objects (keys below)",
    "coupons": "array of coupon objects (keys below)",
}
spec.check_table(_PROPERTY_TYPES, "reference._PROPERTY_TYPES")
_NOTES = {
    ("events", "user_id"): "required unless `require_event_user_id` is off",
    ("events", "id"): "a de-duplication key: a repeated id is stored once",
    ("devices", "token"): "the push token",
    ("devices", "user_id"): "maps the device to this user",
    ("devices", "remove_user_id"): "`true` unmaps the device from its user (not a user id)",
    ("devices", "device_id"): "the SDKs send `gaid:...`, `idfv:...`, `app_local_id:...`",
}


def _required(field: spec.Field) -> str:
    return {True: "yes", False: "no", "setting": "yes (setting)"}[field.required]


def _batch_row(endpoint: spec.Endpoint) -> str:
    least = "1 (CONFIRMED, never relaxed)" if endpoint.min_items_confirmed else "1 (`allow_empty_batches`: 0)"
    limits = f"{least} to {spec.MAX_BATCH_ITEMS:,} items (`max_batch_items`, `max_batch_{endpoint.key}`)"
    kind = "strings, each not empty" if endpoint is spec.BULK_DELETION else "objects (below)"
    return f"| `{endpoint.key}` | array of {kind} | yes | {limits} | {endpoint.body_evidence} |"


def field_reference() -> str:
    out = [
        BEGIN,
        "",
        "Every body is a JSON object; unknown fields are accepted with a warning. `null` for an",
        "optional field means absent. Limits name the setting that moves them.",
        "",
    ]
    for endpoint in spec.ENDPOINTS:
        out += [
            f"`POST {endpoint.path}`",
            "",
            "| field | type | required | limits | evidence |",
            "|---|---|---|---|---|",
        ]
        if endpoint.bulk:
            out.append(_batch_row(endpoint))
        else:
            kind, limits = _FIELD_TYPES["string"]
            out.append(f"| `{endpoint.key}` | {kind} | yes | {limits} | {endpoint.body_evidence} |")
        for field in spec.ITEM_FIELDS.get(endpoint.key, ()):
            note = _NOTES.get((endpoint.key, field.name), "")
            kind, limits = _FIELD_TYPES[field.kind]
            kind += f"; {note}" if note else ""
            out.append(
                f"| `{endpoint.key}[].{field.name}` | {kind} | {_required(field)} | {limits} | INFERRED |"
            )
        out.append("")
    tables = [
        ("Profile properties (`profiles[].properties`)", spec.PROFILE_PROPERTY_TYPES),
        ("Event properties (`events[].properties`)", spec.EVENT_PROPERTY_TYPES),
        ("Device properties (`devices[].properties`)", spec.DEVICE_PROPERTY_TYPES),
        ("Item keys (`mkt_items`, `mkt_cart`, `mkt_wish_list` entries)", spec.ITEM_KEYS),
        ("Coupon keys (`mkt_coupons` entries)", spec.COUPON_KEYS),
    ]
    out += [
        "Reserved properties: all optional, typed when `check_reserved_properties` is on (the default),",
        "each may be `null`. Their names and types come from the vendor's SDKs (INFERRED). Item and",
        "coupon objects hold at most `max_properties` keys. An unknown `mkt_*` key is a warning naming",
        "the key most likely meant (`reject_unknown_reserved`: a 400).",
        "",
    ]
    for title, types in tables:
        out += [title, "", "| key | type |", "|---|---|"]
        out += [f"| `{key}` | {_PROPERTY_TYPES[kind]} |" for key, kind in types.items()]
        if types is spec.EVENT_PROPERTY_TYPES:
            out += [
                f"| `{key}` | any JSON value (known name, type unpublished) |"
                for key in sorted(spec.EVENT_PROPERTY_NAMES_UNTYPED)
            ]
        out.append("")
    out.append(END)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mockserver.reference", description=__doc__)
    parser.add_argument(
        "--write", metavar="README", help="replace the reference between the markers of this file"
    )
    args = parser.parse_args(argv)
    if not args.write:
        print(field_reference())
        return 0
    path = Path(args.write)
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{path}: the markers are missing", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + field_reference() + rest.split(END, 1)[1], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
