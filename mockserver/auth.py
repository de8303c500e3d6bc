"""Bearer API keys: checked in constant time, never echoed in full."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from mockserver.errors import ApiError
from mockserver.settings import mask

__all__ = ["CHALLENGE", "authenticate", "authorize", "mask", "mask_authorization"]

#: RFC 6750 §3: a 401 names the scheme it wants
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _find_key(presented: str, keys: Mapping[str, tuple[str, ...]]) -> str | None:
    # Compare against every key so the time taken does not say which one nearly matched.
    found = None
    given = presented.encode("utf-8", "surrogateescape")
    for key in keys:
        if hmac.compare_digest(given, key.encode("utf-8")):
            found = key
    return found


def _refuse(reason: str) -> ApiError:
    return ApiError.one(401, "Authorization", reason, headers=dict(CHALLENGE))


def authenticate(authorization: str | None, keys: Mapping[str, tuple[str, ...]] | None) -> str:
    """The API key of a well-formed, known ``Authorization`` header; else a 401. With ``keys``
    None (a proxy, which holds none) any well-formed header passes.

    The scheme name is case-insensitive (RFC 7235 §2.1): ``bearer KEY`` passes."""
    if authorization is None:
        raise _refuse("required: send 'Authorization: Bearer <api_key>'")
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        shown = scheme[:20] or authorization[:20]
        raise _refuse(f"scheme must be 'Bearer', not {shown!r}: send 'Authorization: Bearer <api_key>'")
    presented = presented.strip()
    if not presented:
        raise _refuse("the API key is missing after 'Bearer': send 'Authorization: Bearer <api_key>'")
    if keys is None:
        return presented
    key = _find_key(presented, keys)
    if key is None:
        raise _refuse(f"unknown API key {mask(presented)}")
    return key


def authorize(
    key: str, project_id: str, keys: Mapping[str, tuple[str, ...]], *, any_project: bool = False
) -> None:
    if not any_project and project_id not in keys[key]:
        raise _refuse(f"API key {mask(key)} is not valid for project {project_id[:100]!r}")


def mask_authorization(value: str) -> str:
    """``Bearer test-api-key`` -> ``Bearer test****``."""
    scheme, _, secret = value.partition(" ")
    if not secret:
        return mask(value)
    return f"{scheme} {mask(secret.strip())}"
