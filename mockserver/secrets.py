"""Credentials, masked: the one place that decides what a key looks like when it is shown.

Every surface that shows a request (an answer, the journal, the console, the dashboard, the
parity report, a recording, a pytest failure message) shows it through this module, so one rule
holds everywhere: a credential never appears but as :func:`mask_secret` shows it, at most its
first four characters of a long key, too few to identify it. Text meant to be kept and shared
(a recording, committed to a repository) uses ``prefix=False``, which shows none at all.

A credential is ``Authorization`` and ``Proxy-Authorization`` however malformed (a key sent
without ``Bearer``, any scheme, any case), each value of ``Cookie``, and any header or query
parameter whose name says key, token, secret, password, auth, session, credential or signature,
but for the few well-known names in :data:`NOT_SECRET` that say one of these words and carry no
credential (``Idempotency-Key``).
What a request presents is also searched for in text it caused (an upstream echoing the key, an
HTTP library quoting a header it refused) and in its body, which the state keeps masked the same
way as the journal shows it (:meth:`Redactor.body`, :meth:`Redactor.parsed`), see
:class:`Redactor`.

Plain Python, no Flask.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mockserver.bytesearch import occurs
from mockserver.errors import ApiError, FieldError
from mockserver.escapes import may_spell_ascii

__all__ = [
    "MASK",
    "NOT_SECRET",
    "Redactor",
    "hide_prefixes",
    "is_secret_name",
    "mask_credentials",
    "mask_in_text",
    "mask_keys",
    "mask_secret",
    "redact_headers",
    "redact_query",
    "scrub",
]

MASK = "****"

#: a key is shown by its first characters only when it is this long, so at most a third shows
_SHOWN_FROM = 12
_SHOWN = 4

#: parts of a header or query parameter name that say its value is a credential
_SECRET_WORDS = re.compile(
    r"key|token|secret|passw|pwd|auth|cookie|session|credential|signature|jwt|bearer", re.IGNORECASE
)

#: well-known header and parameter names (lower case, ``_`` read as ``-``) that say a secret
#: word and carry no credential, so they are shown: ``Idempotency-Key`` (a client's retry id, the
#: IETF httpapi draft) is what a user reads to tell one request from its retry. Kept short on
#: purpose: a credential shown is worse than a harmless value hidden, so a name not listed here
#: (``Sec-WebSocket-Key``, ``X-CSRF-Token``, ``X-Session-Id``) stays masked. Its value is still
#: searched for the request's credentials.
NOT_SECRET = frozenset({"idempotency-key", "x-idempotency-key"})

#: authentication schemes whose name may be shown before the masked credentials: the IANA
#: registry (RFC 9110 §11) and a few common unregistered ones. Any other first word may be
#: the key itself sent without a scheme, so it is masked with the rest.
_SCHEMES = frozenset(
    {
        "basic",
        "bearer",
        "concealed",
        "digest",
        "dpop",
        "gnap",
        "hoba",
        "mutual",
        "negotiate",
        "oauth",
        "privatetoken",
        "scram-sha-1",
        "scram-sha-256",
        "vapid",
        "token",
        "apikey",
        "api-key",
        "ntlm",
        "aws4-hmac-sha256",
    }
)

#: echoes shorter than this are not searched for in text: a two-letter "key" would mask every
#: word it occurs in, and says nothing about a real key where it occurs
_MIN_SCRUBBED = 4

#: in a body, only credentials this long are searched for: a short cookie value ("true",
#: "json") is an ordinary word there, and masking it would change what the fake judges
_MIN_BODY_SCRUBBED = 8
_JUDGED_HEADERS = frozenset({"content-type", "content-encoding"})

_CUT = re.compile(r"[\x00-\x20\x7f]+")

#: in free text: ``api_key=VALUE`` (a query string, a cookie) and ``Bearer VALUE``
_NAMED_VALUE = re.compile(
    r"([\w.-]*(?:key|token|secret|passw|pwd|auth|session|credential|signature|jwt)[\w.-]*=)([^&;\s'\"]+)",
    re.IGNORECASE,
)
_SCHEMED_VALUE = re.compile(r"\b(bearer|basic|token|apikey)(\s+)([^\s'\"]+)", re.IGNORECASE)


def mask_secret(secret: str, *, prefix: bool = True) -> str:
    """A credential as it may be shown: ``test-api-key`` -> ``test****``.

    The first four characters show only when the key is at least twelve characters long and
    they are printable ASCII; any other key, however short, is ``****``. With ``prefix=False``
    every key is ``****``."""
    secret = secret.strip()
    head = secret[:_SHOWN]
    if prefix and len(secret) >= _SHOWN_FROM and head.isascii() and head.isprintable() and " " not in head:
        return head + MASK
    return MASK


# Every request asks this of each of its header names, and the names are nearly always the same
# few; the bound keeps a client sending endless new names from growing it.
@functools.lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter named ``name`` carries a credential."""
    if name.lower().replace("_", "-") in NOT_SECRET:
        return False
    return bool(_SECRET_WORDS.search(name))


def mask_credentials(value: str, *, prefix: bool = True) -> str:
    """An ``Authorization`` value as it may be shown: ``Bearer test-api-key`` -> ``Bearer
    test****``. A known scheme's name stays; anything else, a key sent without a scheme
    included, is masked whole."""
    scheme, space, rest = value.strip().partition(" ")
    if space and scheme.lower() in _SCHEMES:
        return f"{scheme} {mask_secret(rest, prefix=prefix)}"
    return mask_secret(value, prefix=prefix)


def _mask_cookie(value: str) -> str:
    """``a=1; b=2`` -> ``a=****; b=****``: the names stay, every value is masked."""
    shown = []
    for part in value.split(";"):
        name, equals, _ = part.strip().partition("=")
        if not equals or not name or not name.isascii() or not name.isprintable():
            shown.append(MASK)
        else:
            shown.append(f"{name}={MASK}")
    return "; ".join(shown)


def _mask_header(name: str, value: str, prefix: bool) -> str:
    lowered = name.lower()
    if lowered in ("cookie", "set-cookie"):
        return _mask_cookie(value)
    if lowered in ("authorization", "proxy-authorization"):
        return mask_credentials(value, prefix=prefix)
    return mask_secret(value, prefix=prefix)


# A client sends the same credential with every request; the bound keeps one sending endless
# new ones from growing it.
@functools.lru_cache(maxsize=256)
def _presented(name: str, value: str) -> tuple[str, ...]:
    """The credential values a header or parameter carries, for :func:`scrub` to search for."""
    lowered = name.lower()
    if lowered in ("cookie", "set-cookie"):
        values = [part.partition("=")[2] or part for part in value.split(";")]
    elif lowered in ("authorization", "proxy-authorization"):
        scheme, space, rest = value.strip().partition(" ")
        values = [rest] if space and scheme.lower() in _SCHEMES else [value]
    else:
        values = [value]
    found = []
    for item in values:
        item = item.strip()
        found.append(item)
        # A library quoting a value it refused escapes its control characters: the runs
        # between them are what such a message carries (a value with none has no such runs).
        if not item.isprintable() or " " in item:
            found.extend(_CUT.split(item))
    # A scheme's name alone ("Bearer" with no key after it) is no secret.
    return tuple(item for item in found if len(item) >= _MIN_SCRUBBED and item.lower() not in _SCHEMES)


#: what separates ``name=value`` pairs in a URL, a cookie or a list
_PAIRS = re.compile(r"[?&;,\s'\"]+")


def _named_values(text: str) -> list[str]:
    """The values of ``name=value`` pairs in ``text`` whose name says a credential. Split, not
    searched with a pattern, so that a long hostile value costs time in proportion to it."""
    if "=" not in text:  # most headers: no pair to split out
        return []
    found = []
    for piece in _PAIRS.split(text):
        name, equals, value = piece.partition("=")
        if equals and len(value) >= _MIN_SCRUBBED and is_secret_name(name):
            found.append(value)
    return found


def scrub(text: str, secrets: Iterable[str], *, prefix: bool = True) -> str:
    """``text`` with every occurrence of each of ``secrets`` (of four characters or more)
    replaced by its mask. Longer secrets go first, so a key is never half replaced."""
    return _scrub_in_order(text, _longest_first(secrets), prefix)


def _longest_first(secrets: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({s for s in secrets if len(s) >= _MIN_SCRUBBED}, key=len, reverse=True))


def _scrub_in_order(text: str, ordered: tuple[str, ...], prefix: bool = True) -> str:
    for secret in ordered:
        if secret in text:
            text = text.replace(secret, mask_secret(secret, prefix=prefix))
    return text


def hide_prefixes(text: str, masks: Iterable[str]) -> str:
    """``text``, already masked, with each of ``masks`` (a credential as :func:`mask_secret`
    showed it, ``test****``) replaced by ``****``: what was shown with a prefix, kept with none
    (:attr:`Redactor.masks` lists a request's)."""
    for mask in masks:
        if mask in text:
            text = text.replace(mask, MASK)
    return text


#: a JSON string literal in a body: a credential is searched for inside these only, so that a
#: short one (a cookie's "true") never turns a literal into something else
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
#: an escape that may spell a character a credential holds: one of Latin-1 (all a header
#: value holds) or the slash. The escapes encoders write for Korean and other text (``\\uc154``)
#: are not such.
_SPELT = re.compile(rb"\\(?:u00|/)")


def _spells(raw: bytes) -> bool:
    """Whether ``raw`` may spell a credential's character with an escape. A memchr first: most
    bodies hold no backslash; one pattern after (on a 300 KB body of Korean text, escaped as
    Python's json writes it, some 0.2 ms: two substring searches took twice that), which the
    validator has mostly run already (:mod:`mockserver.escapes`)."""
    return may_spell_ascii(raw) and _SPELT.search(raw) is not None


def _spells_in(literal: bytes) -> bool:
    """:func:`_spells` for one string of a body: short, and not worth remembering."""
    return b"\\" in literal and _SPELT.search(literal) is not None


def _string_or_none(literal: bytes) -> str | None:
    try:
        text = json.loads(literal)
    except (ValueError, RecursionError):
        return None
    return text if isinstance(text, str) else None


def mask_in_text(text: str) -> str:
    """Free text (a log line quoting a request line or a header) with what looks like a
    credential masked: the value of ``name=value`` for a name like a key's, and the word after
    ``Bearer``. For text about a request whose headers are at hand, :class:`Redactor` is surer."""
    text = _NAMED_VALUE.sub(lambda m: m.group(1) + mask_secret(m.group(2)), text)
    return _SCHEMED_VALUE.sub(lambda m: m.group(1) + m.group(2) + mask_secret(m.group(3)), text)


def redact_headers(
    headers: Mapping[str, str], *, secrets: Iterable[str] = (), prefix: bool = True
) -> dict[str, str]:
    """``headers`` as they may be shown: every credential masked, and ``secrets`` (the
    request's own, see :class:`Redactor`) scrubbed from the other values."""
    return _redact_headers(headers, _longest_first(secrets), prefix)


def _redact_headers(
    headers: Mapping[str, str], ordered: tuple[str, ...], prefix: bool = True
) -> dict[str, str]:
    # The headers the fake judges the body by are searched, as a body is, for long credentials
    # only: a cookie's "json" is no key in "application/json", and masking it there would turn
    # a replayed request into another one.
    long = tuple(s for s in ordered if len(s) >= _MIN_BODY_SCRUBBED)
    forms = _name_forms(long)
    return {
        _scrub_name(name, forms, prefix): _mask_header(name, value, prefix)
        if is_secret_name(name)
        else _scrub_in_order(value, long if name.lower() in _JUDGED_HEADERS else ordered, prefix)
        for name, value in headers.items()
    }


def _name_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Each credential as a header name that holds it reads once a server has passed it on, in
    lower case: as sent, and with ``_`` read as ``-`` (a WSGI environ's ``HTTP_`` keys); longest
    first. Long credentials only, as in a path: a short cookie value must not turn
    ``content-type`` into ``content-****``."""
    forms = {form for s in secrets for form in (s.lower(), s.lower().replace("_", "-"))}
    return tuple(sorted(forms, key=len, reverse=True))


def _scrub_name(name: str, forms: tuple[str, ...], prefix: bool) -> str:
    # A header name is case-insensitive: it is searched in lower case, and one holding a key is
    # shown so; any other is shown as it came.
    lower = name.lower()
    return _scrub_in_order(lower, forms, prefix) if any(form in lower for form in forms) else name


def redact_query(
    query: Sequence[tuple[str, str]], *, secrets: Iterable[str] = (), prefix: bool = True
) -> list[tuple[str, str]]:
    """Query parameters as they may be shown: those named like credentials masked, and
    ``secrets`` scrubbed from the others and from every name (a key sent as a name, ``?<key>``)."""
    return _redact_query(query, _longest_first(secrets), prefix)


def _redact_query(
    query: Sequence[tuple[str, str]], ordered: tuple[str, ...], prefix: bool = True
) -> list[tuple[str, str]]:
    return [
        (
            _scrub_in_order(name, ordered, prefix),
            mask_secret(value, prefix=prefix)
            if is_secret_name(name)
            else _scrub_in_order(value, ordered, prefix),
        )
        for name, value in query
    ]


#: the most strings a redactor remembers having scrubbed: a method, a path and a project id are
#: the same for every request it serves; a client sending ever new ones must not grow it
_MAX_REMEMBERED = 16


class Redactor:
    """What one request presents as credentials, and everything shown about it, masked.

    ``Redactor(headers, query, keys=settings.api_keys)`` collects the credentials the request
    carries (and the configured ``keys``); :meth:`headers`, :meth:`query` and :meth:`text` then
    show the request and anything it caused (an error's reason, an upstream's answer) with each
    of them masked. With ``prefix=False`` no mask keeps a character of its key."""

    def __init__(
        self,
        headers: Mapping[str, str],
        query: Sequence[tuple[str, str]] = (),
        *,
        keys: Iterable[str] = (),
        prefix: bool = True,
    ) -> None:
        self.prefix = prefix
        found: list[str] = []
        named: list[str] = []
        for pairs in (headers.items(), query):
            for name, value in pairs:
                if is_secret_name(name):
                    found += _presented(name, value)
                elif "=" in value:
                    # A URL in another header (Referer, Origin, a forwarded URL) may carry a key
                    # in its query string: that key is presented too, and masked wherever it
                    # shows. After those of the credential headers, in the order they came.
                    named += _named_values(value)
        found += named
        found += [key for key in keys if len(key) >= _MIN_SCRUBBED]
        self.secrets: tuple[str, ...] = tuple(dict.fromkeys(found))
        # in the order scrubbing needs, worked out once for everything shown about the request
        self._ordered = _longest_first(self.secrets)
        # those a body, a path and a project id are searched for (see :meth:`body`)
        self._long = tuple(s for s in self._ordered if len(s) >= _MIN_BODY_SCRUBBED)
        #: strings :meth:`parsed` has scrubbed, and what it made of them
        self._strings: dict[str, str] = {}
        shown = (mask_secret(s, prefix=prefix) for s in self.secrets)
        #: each credential as this redactor shows it, where that keeps a prefix (``test****``),
        #: for :func:`hide_prefixes` to hide whole later
        self.masks: tuple[str, ...] = tuple(dict.fromkeys(m for m in shown if m != MASK))

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return _redact_headers(headers, self._ordered, self.prefix)

    def query(self, query: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        return _redact_query(query, self._ordered, self.prefix)

    def text(self, text: str) -> str:
        return _scrub_in_order(text, self._ordered, self.prefix)

    def error(self, error: ApiError) -> ApiError:
        """``error`` with each credential masked in its fields and reasons, which quote what was
        sent (a value, a header line, a body's names); changed in place, and returned."""
        if self.secrets:
            error.errors = [FieldError(self.text(e.field), self.text(e.reason)) for e in error.errors]
        return error

    def body(self, raw: bytes) -> bytes:
        """A request body with each credential masked inside its JSON strings, every other byte
        as sent (a key a client put in a property must not be shown, and what the fake judged
        must stay what it judges). A body that is not JSON is searched whole. Only credentials of
        eight characters or more are searched for: no key is shorter, many ordinary words are.

        A credential spelt with escapes inside a string (``"\\u0074est-..."``, or the ``\\/``
        some encoders write for a slash) is no match byte for byte, yet any JSON reader shows it:
        a string holding an escape that spells such a character is read, and written again with
        the credential masked when it holds one."""
        candidates = self._long
        if not candidates:
            return raw
        spelt = _spells(raw)
        secrets = [s for s in candidates if occurs(s.encode("utf-8", "surrogatepass"), raw)]
        if not secrets and not spelt:
            return raw
        ordered = sorted(candidates if spelt else secrets, key=len, reverse=True)

        def masked(literal: bytes) -> bytes:
            if spelt and _spells_in(literal):
                text = _string_or_none(literal)
                if text is not None and any(secret in text for secret in ordered):
                    for secret in ordered:
                        text = text.replace(secret, mask_secret(secret, prefix=self.prefix))
                    return json.dumps(text).encode()
            for secret in ordered:
                found = secret.encode("utf-8", "surrogatepass")
                if found in literal:
                    literal = literal.replace(found, mask_secret(secret, prefix=self.prefix).encode())
            return literal

        try:
            json.loads(raw)
        except (ValueError, RecursionError):
            # Not JSON (cut short, say): nothing in it is a literal to keep, but a string in it
            # may still spell a credential with escapes, which any reader of it would decode.
            if spelt:
                raw = _JSON_STRING.sub(lambda m: masked(m.group(0)), raw)
            return masked(raw)
        return _JSON_STRING.sub(lambda m: masked(m.group(0)), raw)

    def parsed(self, value: Any) -> Any:
        """JSON-like ``value`` (a body as parsed) as the body masked by :meth:`body` reads: each
        credential it searches for masked in every string, an object's keys included."""
        long = self._long
        if not long:
            return value
        if isinstance(value, str):  # a method, a path, a project id: every request asks
            # and a redactor serves every request with the same headers and query (see
            # pipeline._Shown): each such string is scrubbed once
            shown = self._strings.get(value)
            if shown is None:
                shown = _scrub_in_order(value, long, self.prefix)
                if len(self._strings) < _MAX_REMEMBERED:
                    self._strings[value] = shown
            return shown
        return _scrub_data(value, long, self.prefix)

    def data(self, value: Any) -> Any:
        """Every string in JSON-like ``value`` (dicts, lists, strings) scrubbed, as :meth:`text`
        scrubs one."""
        return _scrub_data(value, self._ordered, self.prefix) if self._ordered else value


def mask_keys(value: Any, keys: Iterable[str], *, prefix: bool = True) -> Any:
    """JSON-like ``value`` with each of ``keys`` masked in its strings, as stored data holds a
    key a request carried (:meth:`Redactor.parsed`: keys of eight characters or more). For what
    the fake was given by its user rather than sent, and shows: a project, a fault rule or a
    saved state that names a key by mistake (``--project-id`` and ``--api-key`` swapped)."""
    return Redactor({}, keys=keys, prefix=prefix).parsed(value)


def _scrub_data(value: Any, ordered: tuple[str, ...], prefix: bool) -> Any:
    if isinstance(value, str):
        return _scrub_in_order(value, ordered, prefix)
    if isinstance(value, dict):
        return {
            _scrub_in_order(k, ordered, prefix): _scrub_data(v, ordered, prefix) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_data(v, ordered, prefix) for v in value]
    if isinstance(value, tuple):  # never in a parsed body; in what a test expects, it may be
        return tuple(_scrub_data(v, ordered, prefix) for v in value)
    return value
