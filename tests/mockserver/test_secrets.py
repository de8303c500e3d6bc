"""A credential never appears but masked: the masking rule itself, then one known secret sent
through every door in every position and searched for on every surface."""

from __future__ import annotations

import pytest

from mockserver.secrets import (
    MASK,
    Redactor,
    is_secret_name,
    mask_credentials,
    mask_secret,
    redact_headers,
    redact_query,
    scrub,
)

SECRET = "sk_live_Zq81mXv0Lr7PwE2n"


def _prefixes(secret: str) -> list[str]:
    """Every 8-character run of ``secret``: none may be shown, as any of them would identify it."""
    return [secret[i : i + 8] for i in range(len(secret) - 7)]


def assert_hidden(text: str, secret: str = SECRET) -> None:
    __tracebackhide__ = True
    for part in [secret, *_prefixes(secret)]:
        assert part not in text, f"{part!r} shown in {text[:2000]!r}"


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("test-api-key", "test****"),
        (SECRET, "sk_l****"),
        ("k", MASK),
        ("short-key01", MASK),  # eleven characters: too short to show any
        ("\x01\x02\x03\x04secretsecret", MASK),  # what would show is not printable
        ("", MASK),
    ],
)
def test_mask_secret_shows_four_characters_of_long_keys_only(secret: str, shown: str) -> None:
    assert mask_secret(secret) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (f"Bearer {SECRET}", "Bearer sk_l****"),
        (f"bearer {SECRET}", "bearer sk_l****"),
        (SECRET, "sk_l****"),  # no scheme: the key itself
        (f"{SECRET} more", "sk_l****"),  # an unknown first word may be the key
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic dXNl****"),
        ("Bearer abc", "Bearer ****"),
    ],
)
def test_mask_credentials_keeps_only_a_known_scheme(value: str, shown: str) -> None:
    assert mask_credentials(value) == shown


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "X-Api-Key",
        "api_key",
        "token",
        "X-Auth-Token",
        "client_secret",
        "password",
        "X-Session",
        "signature",
    ],
)
def test_names_of_credentials(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["content-type", "project_id", "user-agent", "connection", "x-request-id"])
def test_names_of_other_things(name: str) -> None:
    assert not is_secret_name(name)


def test_redact_headers_masks_every_credential_and_its_echoes() -> None:
    headers = {
        "authorization": f"Bearer {SECRET}\x01",
        "cookie": f"sid={SECRET}; theme=dark",
        "x-api-key": SECRET,
        "referer": f"https://example.test/?api_key={SECRET}",
        "content-type": "application/json",
    }
    shown = Redactor(headers).headers(headers)
    assert shown["cookie"] == "sid=****; theme=****"
    assert shown["content-type"] == "application/json"
    assert_hidden(repr(shown))
    # Without the request's own secrets, only the credentials' own headers are masked.
    assert SECRET in redact_headers(headers)["referer"]


def test_redact_query_and_scrub() -> None:
    query = [("project_id", "p"), ("api_key", SECRET), ("token", "abc")]
    assert redact_query(query) == [("project_id", "p"), ("api_key", "sk_l****"), ("token", MASK)]
    redactor = Redactor({}, query)
    # A library quoting a refused value escapes its control characters; the key still goes.
    assert_hidden(redactor.text(repr(f"Bearer {SECRET}\x01".encode())))
    assert_hidden(str(redactor.data({"echo": [SECRET, {SECRET: 1}]})))
    assert scrub("a short key abc stays", ["abc"]) == "a short key abc stays"
