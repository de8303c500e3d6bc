"""The OpenAPI 3.1 document of the five endpoints, built from :mod:`mockserver.spec` and the
current settings: the limits it states are the limits the validator enforces."""

from __future__ import annotations

from typing import Any

from mockserver import spec
from mockserver.settings import Settings

__all__ = ["EXAMPLES", "openapi_document"]

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

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "gender": {"type": "string", "enum": list(spec.GENDERS)},
}


def _string(s: Settings, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": s.max_string_length, **extra}


def _timestamp(s: Settings) -> dict[str, Any]:
    pattern = spec.timestamp_pattern(s.timestamp_format, naive=s.allow_naive_timestamps)
    if s.allow_naive_timestamps or s.timestamp_format != "rfc3339":
        return {"type": "string", "pattern": pattern}
    return {"type": "string", "format": "date-time", "pattern": pattern}


def _property_schema(kind: spec.PropertyType, s: Settings) -> dict[str, Any]:
    if kind == "date":
        return {"type": "string", "format": "date", "pattern": spec.BIRTH_DATE_PATTERN}
    if kind == "timestamp":
        return _timestamp(s)
    if kind in ("items", "coupons"):
        keys = spec.ITEM_KEYS if kind == "items" else spec.COUPON_KEYS
        return {"type": "array", "items": _properties(keys, s)}
    return dict(_TYPES[kind])


def _properties(types: dict[str, spec.PropertyType], s: Settings) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "maxProperties": s.max_properties}
    if s.check_reserved_properties:
        schema["properties"] = {k: _property_schema(t, s) for k, t in types.items()}
    return schema


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _batch(key: str, item: dict[str, Any], s: Settings, *, min_items: int) -> dict[str, Any]:
    array = {"type": "array", "items": item, "minItems": min_items, "maxItems": s.max_batch_items}
    return _object([key], {key: array})


def _bodies(s: Settings) -> dict[str, dict[str, Any]]:
    min_items = 0 if s.allow_empty_batches else 1
    profile = _object(
        ["user_id"],
        {
            "user_id": _string(s),
            "properties": _properties(spec.PROFILE_PROPERTY_TYPES, s),
            "timestamp": _timestamp(s),
        },
    )
    event = _object(
        ["name", "user_id"] if s.require_event_user_id else ["name"],
        {
            "name": _string(s),
            "user_id": _string(s),
            "id": _string(s, description="De-duplication key: a repeated id is stored once."),
            "timestamp": _timestamp(s),
            "properties": _properties(spec.EVENT_PROPERTY_TYPES, s),
        },
    )
    device = _object(
        ["device_id", "platform"],
        {
            "device_id": _string(s, examples=["gaid:...", "idfv:...", "app_local_id:..."]),
            "platform": {"type": "string", "enum": list(spec.DEVICE_PLATFORMS)},
            "token": _string(s),
            "user_id": _string(s),
            "remove_user_id": {"type": "boolean"},
            "properties": _properties(spec.DEVICE_PROPERTY_TYPES, s),
        },
    )
    return {
        spec.PROFILES.path: _batch("profiles", profile, s, min_items=min_items),
        spec.EVENTS.path: _batch("events", event, s, min_items=min_items),
        spec.DELETION.path: _object(["user_id"], {"user_id": _string(s)}),
        spec.BULK_DELETION.path: _batch("user_ids", _string(s), s, min_items=1),
        spec.DEVICES.path: _batch("devices", device, s, min_items=min_items),
    }


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


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
                "description": f"Body shape evidence: {endpoint.body_evidence}.",
                "security": [{"bearerAuth": []}],
                "parameters": [
                    {
                        "name": "project_id",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                        "description": "The ID of the project.",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": bodies[endpoint.path],
                            "example": EXAMPLES[endpoint.path],
                        }
                    },
                },
                "responses": {
                    "202": {"description": "The request has been accepted for processing."},
                    "400": _error_response(endpoint.bad_request_message),
                    "401": _error_response(spec.MESSAGES[401]),
                    "413": _error_response(f"Body larger than {s.max_body_bytes} bytes."),
                    "415": _error_response("Content type other than application/json."),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Marketap Open API (offline fake)",
            "version": "1",
            "description": "The five server-side ingestion endpoints, as the fake enforces them.",
        },
        "servers": [{"url": spec.BASE_URL, "description": "Production Server"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
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
                }
            },
        },
    }
