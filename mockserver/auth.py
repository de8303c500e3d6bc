"""Bearer API keys: checked in constant time, never echoed in full."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from mockserver.errors import ApiError
from mockserver.settings import mask

__all__ = ["authenticate", "authorize", "mask", "mask_authorization"]

_SCHEME = "Bearer "


def _find_key(presented: str, keys: Mapping[str, tuple[str, ...]]) -> str | None:
    # Compare against every key so the time taken does not say which one nearly matched.
    found = None
    given = presented.encode("utf-8", "surrogateescape")
    for key in keys:
        if hmac.compare_digest(given, key.encode("utf-8")):
            found = key
    return found


def authenticate(authorization: str | None, keys: Mapping[str, tuple[str, ...]]) -> str:
    """The API key of a well-formed, known ``Authorization`` header; else a 401."""
    if authorization is None:
        raise ApiError.one(401, "Authorization", "required: send 'Authorization: Bearer <api_key>'")
    if not authorization.startswith(_SCHEME):
        scheme = authorization.split(" ", 1)[0][:20]
        raise ApiError.one(401, "Authorization", f"scheme must be 'Bearer', not {scheme!r}")
    presented = authorization[len(_SCHEME) :].strip()
    if not presented:
        raise ApiError.one(401, "Authorization", "the API key is empty")
    key = _find_key(presented, keys)
    if key is None:
        raise ApiError.one(401, "Authorization", f"unknown API key {mask(presented)}")
    return key


def authorize(
    key: str, project_id: str, keys: Mapping[str, tuple[str, ...]], *, any_project: bool = False
) -> None:
    if not any_project and project_id not in keys[key]:
        raise ApiError.one(
            401, "Authorization", f"API key {mask(key)} is not valid for project {project_id[:100]!r}"
        )


def mask_authorization(value: str) -> str:
    """``Bearer test-api-key`` -> ``Bearer test****``."""
    scheme, _, secret = value.partition(" ")
    if not secret:
        return mask(value)
    return f"{scheme} {mask(secret.strip())}"
