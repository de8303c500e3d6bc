"""Bearer API keys: checked in constant time, never echoed in full."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from mockserver.errors import ApiError
from mockserver.secrets import mask_credentials, mask_secret

__all__ = ["CHALLENGE", "authenticate", "authorize"]

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
        raise _refuse(f"{_scheme_words(authorization)}: send 'Authorization: Bearer <api_key>'")
    presented = presented.strip()
    if not presented:
        raise _refuse("the API key is missing after 'Bearer': send 'Authorization: Bearer <api_key>'")
    if keys is None:
        return presented
    key = _find_key(presented, keys)
    if key is None:
        raise _refuse(f"unknown API key {mask_secret(presented)}")
    return key


def authorize(
    key: str, project_id: str, keys: Mapping[str, tuple[str, ...]], *, any_project: bool = False
) -> None:
    if not any_project and project_id not in keys[key]:
        raise _refuse(f"API key {mask_secret(key)} is not valid for project {project_id[:100]!r}")


def _scheme_words(authorization: str) -> str:
    # Whatever came first may be the key itself, sent without "Bearer ": it is named only as
    # mask_credentials shows it, which keeps a known scheme's name and masks anything else.
    shown = mask_credentials(authorization)
    if " " in shown:
        return f"scheme must be 'Bearer', not {shown.partition(' ')[0]!r}"
    return f"the header must start with 'Bearer ', not {shown!r}"
