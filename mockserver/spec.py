"""Vendor facts about the Marketap Open API, in one place.

Every other module (validation, the OpenAPI document, the strategies, the docs) reads the
paths, limits, messages and reserved property types from here. Each fact carries its evidence
tag from ``research/marketap-api-evidence.md``:

* CONFIRMED: stated by the vendor's published page;
* INFERRED: rebuilt from the vendor's public SDKs or by analogy with a confirmed sibling;
* CHOSEN: nothing is published; the fake picks the strict answer and exposes a setting.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

__all__ = [
    "BASE_URL",
    "BIRTH_DATE_PATTERN",
    "COUPON_KEYS",
    "DEVICE_PLATFORMS",
    "DEVICE_PROPERTY_TYPES",
    "ENDPOINTS",
    "EVENT_PROPERTY_TYPES",
    "GENDERS",
    "ISO_TIMESTAMP_NAIVE_PATTERN",
    "ISO_TIMESTAMP_PATTERN",
    "ITEM_FIELDS",
    "ITEM_KEYS",
    "MESSAGES",
    "NESTED_KEYS",
    "OBJECT_KEYS",
    "PATHS",
    "PROFILE_PROPERTY_TYPES",
    "PROPERTY_TYPES",
    "PROPERTY_TYPE_NAMES",
    "TIMESTAMP_FORMATS",
    "TIMESTAMP_NAIVE_PATTERN",
    "TIMESTAMP_PATTERN",
    "TIMESTAMP_PATTERNS",
    "Endpoint",
    "Evidence",
    "Field",
    "PropertyType",
    "check_table",
    "endpoint_for",
    "timestamp_pattern",
]

Evidence = Literal["CONFIRMED", "INFERRED", "CHOSEN"]

BASE_URL: Final = "https://event.marketap.io"  # CONFIRMED (OpenAPI `servers`)

PropertyType = Literal[
    "string", "boolean", "integer", "number", "date", "timestamp", "gender", "items", "coupons"
]
#: Every reserved property type. Each module that treats the types differently keeps one table
#: keyed by them and passes it to :func:`check_table` when imported, so a new type cannot slip
#: into another's branch unnoticed.
PROPERTY_TYPE_NAMES: Final[tuple[PropertyType, ...]] = get_args(PropertyType)


def check_table(table: Mapping[Any, object], name: str) -> None:
    """Raise ``ValueError`` unless ``table``'s keys are exactly :data:`PROPERTY_TYPE_NAMES`."""
    missing = [kind for kind in PROPERTY_TYPE_NAMES if kind not in table]
    extra = sorted(set(table) - set(PROPERTY_TYPE_NAMES))
    if missing or extra:
        raise ValueError(
            f"{name} must have one entry per reserved property type: "
            f"missing {missing or 'none'}, unknown {extra or 'none'}"
        )


@dataclass(frozen=True)
class Endpoint:
    """One of the five ingestion endpoints and the shape of its body."""

    path: str
    name: str
    summary: str
    #: top-level key of the body; for the batch endpoints it holds the list of items
    key: str
    #: True when ``key`` holds a list of items (bulk endpoints)
    bulk: bool
    #: message of a 400 answer (the bulk deletion endpoint words it differently: CONFIRMED)
    bad_request_message: str
    #: evidence for the body's shape
    body_evidence: Evidence
    #: the vendor's description of the operation (CONFIRMED wording)
    description: str = ""
    #: the vendor's description of ``project_id`` (CONFIRMED wording; one endpoint differs)
    project_id_description: str = "The ID of the project."
    #: a CONFIRMED minimum of one item that no setting relaxes
    min_items_confirmed: bool = False

    def count_items(self, body: Any) -> int | None:
        """How many items a parsed ``body`` carries, for the journal; None when it holds none
        that can be counted (not an object, or ``key`` missing or of the wrong kind)."""
        value = body.get(self.key) if isinstance(body, dict) else None
        return len(value) if isinstance(value, list) else 1 if isinstance(value, str) else None


PROFILES = Endpoint(
    path="/v1/api/profile/user",
    name="update_profiles",
    summary="Update bulk user profiles",
    description="Updates user profile information in bulk.",
    key="profiles",
    bulk=True,
    bad_request_message="Invalid request parameters.",
    body_evidence="CONFIRMED",  # `required: ["profiles"]`; the item shape is INFERRED
)
EVENTS = Endpoint(
    path="/v1/api/events",
    name="collect_events",
    summary="Collect bulk user events",
    description="Receives a list of events and processes them asynchronously.",
    key="events",
    bulk=True,
    bad_request_message="Invalid request parameters.",
    body_evidence="CONFIRMED",  # the `events` key; the item shape is INFERRED
)
DELETION = Endpoint(
    path="/v1/api/profile/user/deletion-job",
    name="request_deletion",
    summary="Request user profile deletion",
    description="Creates an asynchronous deletion job for the specified user profile.",
    key="user_id",
    bulk=False,
    bad_request_message="Invalid request parameters.",
    body_evidence="CONFIRMED",
)
BULK_DELETION = Endpoint(
    path="/v1/api/profile/user/deletion-job/bulk",
    name="request_bulk_deletion",
    summary="Request bulk user profile deletion",
    description="Triggers asynchronous deletion of multiple user profiles.",
    project_id_description="Project ID",
    key="user_ids",
    bulk=True,
    bad_request_message="Invalid request.",  # CONFIRMED, differs from the siblings
    body_evidence="CONFIRMED",
    min_items_confirmed=True,  # `string[] · min: 1`
)
DEVICES = Endpoint(
    path="/v1/api/profile/user/device/bulk",
    name="update_devices",
    summary="Update bulk device profiles",
    description="Updates device profile information and user-device mapping in bulk.",
    key="devices",
    bulk=True,
    bad_request_message="Invalid request parameters.",
    body_evidence="INFERRED",  # rebuilt from the SDKs' device request
)

ENDPOINTS: Final[tuple[Endpoint, ...]] = (PROFILES, EVENTS, DELETION, BULK_DELETION, DEVICES)
PATHS: Final[tuple[str, ...]] = tuple(e.path for e in ENDPOINTS)
_BY_PATH: Final = {e.path: e for e in ENDPOINTS}


def endpoint_for(path: str) -> Endpoint | None:
    """The endpoint served at ``path``, or None."""
    return _BY_PATH.get(path)


#: Answers' messages. 400 and 401 are CONFIRMED; the others are CHOSEN (the vendor documents none).
MESSAGES: Final[dict[int, str]] = {
    400: "Invalid request parameters.",
    401: "Unauthorized request.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "Request body too large.",
    415: "Unsupported media type.",
    429: "Too many requests.",
    500: "Internal error.",
    503: "Service unavailable.",
}

#: Default limits (the settings module turns each into a setting).
MAX_BATCH_ITEMS: Final = 1000  # CONFIRMED for profiles and events; INFERRED for devices, user_ids
MAX_BODY_BYTES: Final = 16 * 1024 * 1024  # CHOSEN
MAX_STRING_LENGTH: Final = 65_536  # CHOSEN
MAX_PROPERTIES: Final = 1000  # CHOSEN
MAX_DEPTH: Final = 64  # CHOSEN

DEVICE_PLATFORMS: Final = ("android", "ios", "web")  # android/ios INFERRED from the SDKs; web CHOSEN
GENDERS: Final = ("Male", "Female", "Other", "Unknown")  # INFERRED (Android SDK `Gender`)

# RFC 3339 dates and date-times (years 0001-9999, month lengths and leap years included), as
# patterns pydantic-core runs in compiled code: a Python call per timestamp costs as much as
# parsing the whole body. Tests check them against `datetime.fromisoformat`, which explains
# a rejection in words. Digits are spelt [0-9]: `\d` is Unicode in Python's `re`, which the fast
# path runs the same patterns in.
_YEAR = r"(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_YEAR = r"(?:[0-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"


def _date(sep: str) -> str:
    """A calendar date, its fields separated by ``sep`` ("-", or "" for ISO 8601's basic form)."""
    month_day = (
        rf"(?:(?:0[13578]|1[02]){sep}(?:0[1-9]|[12][0-9]|3[01])"
        rf"|(?:0[469]|11){sep}(?:0[1-9]|[12][0-9]|30)"
        rf"|02{sep}(?:0[1-9]|1[0-9]|2[0-8]))"
    )
    return rf"(?:{_YEAR}{sep}{month_day}|{_LEAP_YEAR}{sep}02{sep}29)"


DATE_PATTERN: Final = _date("-")
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
_ZONE = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
#: A date-time with a time zone: what the vendor asks for (CONFIRMED: "ISO 8601", with examples).
TIMESTAMP_PATTERN: Final = rf"^{DATE_PATTERN}[Tt]{_TIME}{_ZONE}$"
#: The same with the zone optional, for the setting `allow_naive_timestamps`.
TIMESTAMP_NAIVE_PATTERN: Final = rf"^{DATE_PATTERN}[Tt]{_TIME}{_ZONE}?$"

# ISO 8601's other complete date-time forms (setting `timestamp_format: iso8601`): the basic
# form (20250117T053922Z), a comma before the fraction, and the offsets +0900 and +09.
_ISO_FRACTION = r"(?:[.,][0-9]+)?"
_ISO_ZONE = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)"
_ISO_EXTENDED = rf"{DATE_PATTERN}[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{_ISO_FRACTION}"
_ISO_BASIC = rf"{_date('')}[Tt](?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]{_ISO_FRACTION}"
ISO_TIMESTAMP_PATTERN: Final = rf"^(?:{_ISO_EXTENDED}|{_ISO_BASIC}){_ISO_ZONE}$"
ISO_TIMESTAMP_NAIVE_PATTERN: Final = rf"^(?:{_ISO_EXTENDED}|{_ISO_BASIC}){_ISO_ZONE}?$"

#: The forms the setting `timestamp_format` chooses between.
TIMESTAMP_FORMATS: Final = ("rfc3339", "iso8601")


def timestamp_pattern(timestamp_format: str = "rfc3339", *, naive: bool = False) -> str:
    """The pattern a timestamp must match under the settings ``timestamp_format`` and
    ``allow_naive_timestamps``."""
    if timestamp_format == "iso8601":
        return ISO_TIMESTAMP_NAIVE_PATTERN if naive else ISO_TIMESTAMP_PATTERN
    return TIMESTAMP_NAIVE_PATTERN if naive else TIMESTAMP_PATTERN


#: Every pattern :func:`timestamp_pattern` returns.
TIMESTAMP_PATTERNS: Final = frozenset(
    timestamp_pattern(f, naive=n) for f in TIMESTAMP_FORMATS for n in (False, True)
)
#: `mkt_birth` (INFERRED: the SDK zero-pads `YYYY-MM-DD`).
BIRTH_DATE_PATTERN: Final = rf"^{DATE_PATTERN}$"

# Reserved property types (INFERRED from the Android SDK's builders; see the evidence file §3).
ITEM_KEYS: Final[dict[str, PropertyType]] = {
    "mkt_product_id": "string",
    "mkt_product_name": "string",
    **{f"mkt_category{i}": "string" for i in range(1, 6)},
    "mkt_product_price": "number",
    "mkt_quantity": "integer",
    "mkt_option_price": "number",
    "mkt_brand": "string",
    "mkt_variant": "string",
    "mkt_shipping_info": "string",
    "mkt_bundle_info": "string",
    "mkt_created_datetime": "string",
}
COUPON_KEYS: Final[dict[str, PropertyType]] = {
    "mkt_coupon_id": "string",
    "mkt_coupon_name": "string",
    "mkt_issue_id": "string",
    "mkt_issued_at": "timestamp",
    "mkt_expires_at": "timestamp",
    **{f"mkt_category{i}": "string" for i in range(1, 6)},
    "mkt_is_used": "boolean",
}
PROFILE_PROPERTY_TYPES: Final[dict[str, PropertyType]] = {
    "mkt_name": "string",
    "mkt_phone_number": "string",
    "mkt_email": "string",
    "mkt_gender": "gender",
    "mkt_birth": "date",
    "mkt_grade": "string",
    "mkt_text_message_opt_in": "boolean",
    "mkt_kakao_opt_in": "boolean",
    "mkt_email_opt_in": "boolean",
    "mkt_available_points": "integer",
    "mkt_cart_total_price": "number",
    "mkt_wish_list_total_price": "number",
    "mkt_cart": "items",
    "mkt_wish_list": "items",
    "mkt_coupons": "coupons",
}
EVENT_PROPERTY_TYPES: Final[dict[str, PropertyType]] = {
    "mkt_revenue": "number",
    "mkt_order_id": "string",
    "mkt_items": "items",
    "mkt_session_id": "string",
    "mkt_url": "string",
    "mkt_page_title": "string",
    "mkt_page_path": "string",
}
#: Device properties are not `mkt_`-prefixed; `opt_in` is push consent (INFERRED).
DEVICE_PROPERTY_TYPES: Final[dict[str, PropertyType]] = {"opt_in": "boolean"}

#: Reserved property types by the key of the batch that carries them.
PROPERTY_TYPES: Final[dict[str, dict[str, PropertyType]]] = {
    "profiles": PROFILE_PROPERTY_TYPES,
    "events": EVENT_PROPERTY_TYPES,
    "devices": DEVICE_PROPERTY_TYPES,
}

#: The reserved keys of the objects a property of each type holds: items and coupons are arrays
#: of objects with reserved keys of their own; the other types hold no such objects.
OBJECT_KEYS: Final[dict[PropertyType, dict[str, PropertyType] | None]] = {
    "string": None,
    "boolean": None,
    "integer": None,
    "number": None,
    "date": None,
    "timestamp": None,
    "gender": None,
    "items": ITEM_KEYS,
    "coupons": COUPON_KEYS,
}
check_table(OBJECT_KEYS, "spec.OBJECT_KEYS")


def _nested(types: dict[str, PropertyType]) -> dict[str, dict[str, PropertyType]]:
    return {prop: keys for prop, kind in types.items() if (keys := OBJECT_KEYS[kind]) is not None}


#: Per batch, the reserved properties that hold objects with reserved keys of their own (items,
#: coupons), and those keys' types.
NESTED_KEYS: Final[dict[str, dict[str, dict[str, PropertyType]]]] = {
    batch: _nested(types) for batch, types in PROPERTY_TYPES.items()
}

FieldKind = Literal["string", "timestamp", "properties", "platform", "boolean"]


@dataclass(frozen=True)
class Field:
    """A field of a batch item. ``required="setting"``: required unless a setting says not."""

    name: str
    kind: FieldKind
    required: bool | Literal["setting"]


#: The fields of each batch's items (INFERRED from the SDKs, see the evidence file §2).
ITEM_FIELDS: Final[dict[str, tuple[Field, ...]]] = {
    "profiles": (
        Field("user_id", "string", True),
        Field("properties", "properties", False),
        Field("timestamp", "timestamp", False),
    ),
    "events": (
        Field("name", "string", True),
        Field("user_id", "string", "setting"),  # setting `require_event_user_id`
        Field("id", "string", False),  # de-duplication key
        Field("timestamp", "timestamp", False),
        Field("properties", "properties", False),
    ),
    "devices": (
        Field("device_id", "string", True),
        Field("platform", "platform", True),
        Field("token", "string", False),
        Field("user_id", "string", False),
        Field("remove_user_id", "boolean", False),
        Field("properties", "properties", False),
    ),
}

#: Event property names known from the SDKs whose type is not known: accepted silently.
EVENT_PROPERTY_NAMES_UNTYPED: Final = frozenset({"mkt_page_params"})
