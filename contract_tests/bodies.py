"""Bodies the contract suite sends: valid ones use only ``contract-test-`` ids."""

from __future__ import annotations

from typing import Any

from mockserver import spec

PREFIX = "contract-test-"
USER = f"{PREFIX}user-1"
DEVICE = f"app_local_id:{PREFIX}device-1"

PROFILE = {"user_id": USER, "properties": {"mkt_name": "홍길동", "mkt_kakao_opt_in": True}}
EVENT = {"name": "mkt_login", "user_id": USER, "timestamp": "2025-01-17T05:39:22Z"}
DEVICE_ITEM = {"device_id": DEVICE, "platform": "android", "user_id": USER}

#: One valid body per endpoint. Deletions are valid too, but only sent where allowed.
VALID: dict[str, dict[str, Any]] = {
    spec.PROFILES.path: {"profiles": [PROFILE]},
    spec.EVENTS.path: {"events": [EVENT]},
    spec.DELETION.path: {"user_id": USER},
    spec.BULK_DELETION.path: {"user_ids": [USER]},
    spec.DEVICES.path: {"devices": [DEVICE_ITEM]},
}
#: The endpoints that create data (safe to send valid bodies to anywhere).
CREATING = (spec.PROFILES.path, spec.EVENTS.path, spec.DEVICES.path)


def batch_item(path: str, i: int = 0) -> Any:
    return {
        spec.PROFILES.path: {"user_id": f"{PREFIX}user-{i}"},
        spec.EVENTS.path: {"name": "mkt_page_view", "user_id": f"{PREFIX}user-{i % 10}"},
        spec.DEVICES.path: {"device_id": f"app_local_id:{PREFIX}device-{i}", "platform": "web"},
        spec.BULK_DELETION.path: f"{PREFIX}user-{i}",
    }[path]


def own(value: Any) -> Any:
    """Prefix every id in a generated body, so the suite touches only its own data.

    Empty ids stay empty: prefixing would mend a body meant to be invalid."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in ("user_id", "device_id") and isinstance(item, str) and item:
                out[key] = PREFIX + item
            elif key == "user_ids" and isinstance(item, list):
                out[key] = [PREFIX + u if isinstance(u, str) and u else u for u in item]
            else:
                out[key] = own(item)
        return out
    if isinstance(value, list):
        return [own(v) for v in value]
    return value
