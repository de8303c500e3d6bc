"""The OpenAPI 3.1 document of the five endpoints, built from :mod:`mockserver.spec` and the
current settings: the limits it states are the limits the validator enforces."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from mockserver import spec
from mockserver.settings import Settings

__all__ = ["EXAMPLES", "NO_CONTROL_PATTERN", "openapi_document"]

#: One accepted body per endpoint (the evidence file's §5.1 examples); a test posts each one.
EXAMPLES: dict[str, dict[str, Any]] = {
    spec.PROFILES.path: {
        "profiles": [
            {
                "user_id": "u-1001",
                "properties": {
                    "mkt_name": "홍길동",
                    "mkt_phone_number": "01012345678",
                    "mkt_email": "hong@example.com",
                    "mkt_gender": "Male",
                    "mkt_birth": "1990-05-01",
                    "mkt_grade": "VIP",
                    "mkt_text_message_opt_in": True,
                    "mkt_kakao_opt_in": False,
                    "mkt_email_opt_in": True,
                    "mkt_available_points": 1200,
                    "custom_tier": "gold",
                },
                "timestamp": "2025-01-17T05:39:22Z",
            }
        ]
    },
    spec.EVENTS.path: {
        "events": [
            {
                "id": "evt-0001",
                "user_id": "u-1001",
                "name": "mkt_purchase",
                "timestamp": "2025-01-17T14:39:22+09:00",
                "properties": {
                    "mkt_revenue": 39000.0,
                    "mkt_order_id": "ORD-77",
                    "mkt_items": [
                        {
                            "mkt_product_id": "P-1",
                            "mkt_product_name": "티셔츠",
                            "mkt_product_price": 19500.0,
                            "mkt_quantity": 2,
                            "mkt_category1": "의류",
                        }
                    ],
                },
            },
            {
                "user_id": "u-1001",
                "name": "mkt_page_view",
                "properties": {"mkt_page_title": "홈", "mkt_page_path": "/"},
            },
        ]
    },
    spec.DELETION.path: {"user_id": "test-user-123"},
    spec.BULK_DELETION.path: {"user_ids": ["u-1001", "u-1002"]},
    spec.DEVICES.path: {
        "devices": [
            {
                "device_id": "app_local_id:5f0c9a2e",
                "platform": "android",
                "token": "fcm-token-xyz",
                "user_id": "u-1001",
                "properties": {"opt_in": True, "app_version": "1.2.0", "os": "Android 14"},
            }
        ]
    },
}

#: C0 control characters other than tab, LF and CR (setting ``reject_control_characters``), in
#: JSON Schema's (ECMA-262) spelling.
NO_CONTROL_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"

_NULL = {"type": "null"}
_FREE = {"$ref": "#/components/schemas/Value"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional field: the fake takes ``null`` as absent."""
    return {"anyOf": [schema, _NULL]}


def _string(s: Settings, *, min_length: int = 1, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": s.max_string_length}
    if min_length:
        schema["minLength"] = min_length
    if s.reject_control_characters:
        schema["pattern"] = NO_CONTROL_PATTERN
    return {**schema, **extra}


def _timestamp(s: Settings) -> dict[str, Any]:
    pattern = spec.timestamp_pattern(s.timestamp_format, naive=s.allow_naive_timestamps)
    if s.allow_naive_timestamps or s.timestamp_format != "rfc3339":
        return {"type": "string", "pattern": pattern}
    return {"type": "string", "format": "date-time", "pattern": pattern}


_INTEGER = {
    "type": "integer",
    "description": "Written as an integer: a fraction or an exponent (`1.0`, `1e2`) is refused.",
}


def _properties(
    types: dict[str, spec.PropertyType], s: Settings, untyped: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A properties object (or an item or coupon): reserved keys typed, other keys free."""
    schema: dict[str, Any] = {"type": "object", "maxProperties": s.max_properties}
    if s.check_reserved_properties:
        schema["properties"] = {k: _nullable(_BY_PROPERTY_TYPE[t](s)) for k, t in types.items()}
    if s.reject_unknown_reserved:  # an unknown mkt_* key is refused
        known = "|".join(re.escape(k[4:]) for k in sorted({*types, *untyped}) if k.startswith("mkt_"))
        schema["patternProperties"] = {f"^mkt_(?!(?:{known})$)" if known else "^mkt_": {"not": {}}}
    schema["additionalProperties"] = _FREE
    return schema


#: The schema of a reserved property of each type, under settings ``s``.
_BY_PROPERTY_TYPE: dict[spec.PropertyType, Callable[[Settings], dict[str, Any]]] = {
    "string": _string,
    "boolean": lambda s: {"type": "boolean"},
    "integer": lambda s: dict(_INTEGER),
    "number": lambda s: {"type": "number"},
    "date": lambda s: {"type": "string", "format": "date", "pattern": spec.BIRTH_DATE_PATTERN},
    "timestamp": _timestamp,
    "gender": lambda s: {"type": "string", "enum": list(spec.GENDERS)},
    "items": lambda s: {"type": "array", "items": _properties(spec.ITEM_KEYS, s)},
    "coupons": lambda s: {"type": "array", "items": _properties(spec.COUPON_KEYS, s)},
}
spec.check_table(_BY_PROPERTY_TYPE, "openapi._BY_PROPERTY_TYPE")


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """An object of known fields (optional ones may be null); unknown fields are
    accepted with a warning, so they are free values."""
    fields = {k: v if k in required else _nullable(v) for k, v in properties.items()}
    return {"type": "object", "required": required, "properties": fields, "additionalProperties": _FREE}


def _batch(key: str, item: dict[str, Any], s: Settings) -> dict[str, Any]:
    array = {
        "type": "array",
        "items": item,
        "minItems": s.min_batch_items(key),
        "maxItems": s.max_items(key),
    }
    return _object([key], {key: array})


def _bodies(s: Settings) -> dict[str, dict[str, Any]]:
    profile = _object(
        ["user_id"],
        {
            "user_id": _string(s),
            "properties": _properties(spec.PROFILE_PROPERTY_TYPES, s),
            "timestamp": _timestamp(s),
        },
    )
    event = _object(
        [f.name for f in spec.ITEM_FIELDS["events"] if s.requires(f)],
        {
            "name": _string(s),
            "user_id": _string(s),
            "id": _string(s, description="De-duplication key: a repeated id is stored once."),
            "timestamp": _timestamp(s),
            "properties": _properties(spec.EVENT_PROPERTY_TYPES, s, spec.EVENT_PROPERTY_NAMES_UNTYPED),
        },
    )
    device = _object(
        ["device_id", "platform"],
        {
            "device_id": _string(s, examples=["gaid:...", "idfv:...", "app_local_id:..."]),
            "platform": {"type": "string", "enum": list(spec.DEVICE_PLATFORMS)},
            "token": _string(s, description="Push token."),
            "user_id": _string(s, description="Maps the device to this user."),
            "remove_user_id": {"type": "boolean", "description": "true unmaps the device from its user."},
            "properties": _properties(spec.DEVICE_PROPERTY_TYPES, s),
        },
    )
    return {
        spec.PROFILES.path: _batch("profiles", profile, s),
        spec.EVENTS.path: _batch("events", event, s),
        spec.DELETION.path: _object(["user_id"], {"user_id": _string(s, examples=["test-user-123"])}),
        spec.BULK_DELETION.path: _batch("user_ids", _string(s), s),
        spec.DEVICES.path: _batch("devices", device, s),
    }


def _value_schema(s: Settings) -> dict[str, Any]:
    """A free value (a custom property, an unknown field). One schema with a list of types
    (each keyword applies to its own type). JSON Schema cannot bound nesting: the description
    does (a chain of one schema per level makes generators inline 2^depth copies)."""
    text = _string(s, min_length=0)
    del text["type"]
    control = " holding no C0 control character but tab, LF and CR" if s.reject_control_characters else ""
    return {
        "description": (
            f"Any JSON value: finite numbers, true, false, null, strings of at most "
            f"{s.max_string_length} characters{control}, and arrays and objects nested at most "
            f"{s.max_depth} levels deep counting the body as the first (max_depth)."
        ),
        "type": ["string", "number", "boolean", "null", "array", "object"],
        **text,
        "items": _FREE,
        "additionalProperties": _FREE,
    }


def _media(schema: dict[str, Any], endpoint: spec.Endpoint, s: Settings) -> dict[str, Any]:
    """The body's schema, and its example where the current settings accept it (a small
    ``max_properties`` refuses the purchase example, say)."""
    from mockserver.errors import ApiError
    from mockserver.validation import validate_body_fully

    example = EXAMPLES[endpoint.path]
    try:
        validate_body_fully(endpoint, json.dumps(example).encode(), s)
    except ApiError:
        return {"schema": schema}
    return {"schema": schema, "example": example}


def _error_response(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry_after:
        out["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "string"},
            }
        }
    return out


def _responses(endpoint: spec.Endpoint, s: Settings) -> dict[str, Any]:
    unauthorized = _error_response(spec.MESSAGES[401])
    unauthorized["headers"] = {
        "WWW-Authenticate": {"description": "Always `Bearer` (RFC 6750).", "schema": {"type": "string"}}
    }
    return {
        "202": {"description": "No content: the request has been accepted for processing."},
        "400": _error_response(f'"{endpoint.bad_request_message}": every violation, each with its field.'),
        "401": unauthorized,
        "408": _error_response(
            f"The body did not arrive in full within {s.read_timeout:g} s (read_timeout)."
        ),
        "413": _error_response(f"Body larger than {s.max_body_bytes} bytes, after decompression."),
        "415": _error_response(
            "Content-Type other than application/json, or Content-Encoding other than gzip."
        ),
        "429": _error_response(
            "Over the setting rate_limit (off by default), or answered by a fault rule.", retry_after=True
        ),
        "503": _error_response("Answered by a fault rule.", retry_after=True),
        "4XX": _error_response("Answered by a fault rule (the status it sets)."),
        "5XX": _error_response("Answered by a fault rule (the status it sets).", retry_after=True),
    }


def _beyond_schema(s: Settings) -> str:
    """A warning for each limit lowered past what JSON Schema can state: a body valid by this
    document can still be refused, and a generator reading it cannot know."""
    lowered = []
    if s.max_depth < spec.MAX_DEPTH:
        lowered.append(f"max_depth is {s.max_depth} (bodies nested deeper get 400)")
    if s.max_body_bytes < spec.MAX_BODY_BYTES:
        lowered.append(f"max_body_bytes is {s.max_body_bytes} (larger bodies get 413)")
    if not lowered:
        return ""
    return (
        "\n\nWarning: " + "; ".join(lowered) + ". JSON Schema cannot state either limit, so a body "
        "valid by this document may still be refused."
    )


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The document for ``settings`` (defaults when None)."""
    s = settings or Settings()
    bodies = _bodies(s)
    paths: dict[str, Any] = {}
    for endpoint in spec.ENDPOINTS:
        paths[endpoint.path] = {
            "post": {
                "operationId": endpoint.name,
                "summary": endpoint.summary,
                "description": f"{endpoint.description}\n\nBody shape evidence: {endpoint.body_evidence}.",
                "security": [{"bearerAuth": []}],
                "parameters": [
                    {
                        "name": "project_id",
                        "in": "query",
                        "required": True,
                        # one non-blank value: empty, blank or repeated is a 400
                        "schema": {"type": "string", "minLength": 1, "pattern": "\\S"},
                        "description": endpoint.project_id_description,
                        "example": "your_project_id",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": _media(bodies[endpoint.path], endpoint, s)},
                },
                "responses": _responses(endpoint, s),
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Marketap Open API (offline fake)",
            "version": "1",
            "description": (
                "The five server-side ingestion endpoints, as the fake enforces them under its "
                "current settings. Other methods on these paths get 405 with `Allow: POST`, other "
                "paths 404, both in the error envelope. A JSON key given twice is accepted (the last "
                "occurrence wins) with a warning in the fake's journal." + _beyond_schema(s)
            ),
        },
        "servers": [{"url": spec.BASE_URL, "description": "Production Server"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Value": _value_schema(s),
                "Error": {
                    "type": "object",
                    "required": ["code", "message", "data", "errors"],
                    "properties": {
                        "code": {"type": "integer"},
                        "message": {"type": "string"},
                        "data": {"type": "null"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "reason"],
                                "properties": {
                                    "field": {"type": "string"},
                                    "reason": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
