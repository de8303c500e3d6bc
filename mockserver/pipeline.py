"""One ingestion request, start to end, in the order API.md gives: route and method, auth,
``project_id``, content type, encoding and size, JSON, schema; then store and journal.

Plain Python: the HTTP layer turns its request into an :class:`IncomingRequest` and writes out
the :class:`Reply`. A request that gets a 4xx stores nothing; every request to an ingestion
path is journaled, whatever its answer.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from mockserver import spec
from mockserver.auth import authenticate, authorize
from mockserver.backend import Backend
from mockserver.browser_guard import check_proxy_origin
from mockserver.errors import ApiError
from mockserver.faults import retry_after_header
from mockserver.journal import parse_json
from mockserver.proxy import LENIENT, Upstream, check_connection
from mockserver.secrets import Redactor
from mockserver.settings import Settings
from mockserver.validation import Validated, validate_body

__all__ = ["MAX_GZIP_MEMBERS", "IncomingRequest", "Reply", "error_reply", "handle"]

#: The most gzip members a body may hold. Clients compress a body as one member; a few are
#: allowed for concatenated streams, and the bound keeps inflating linear in the data.
MAX_GZIP_MEMBERS = 64

log = logging.getLogger("mockserver")

_JSON_HEADERS = {"Content-Type": "application/json"}
_MAX_JOURNALED_HEADER = 1024


@dataclass
class IncomingRequest:
    """What the HTTP layer read. Header names are lower-case."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes = b""
    #: True when the body was longer than the size limit and was not read to its end
    too_large: bool = False
    #: why the body did not arrive whole (the client closed early, timed out, broke the
    #: chunked encoding): such a request is answered with this error and stores nothing
    body_error: ApiError | None = None
    #: the query as received, for a proxy to send on byte for byte
    query_string: str = ""
    #: the backend's :meth:`~mockserver.backend.Backend.arrival` mark, taken before the body
    #: was read: a request that a reset overtook stores and journals nothing
    arrived: int | None = None
    #: the API keys the fake knows (set by :func:`handle`): masked wherever the request shows
    #: them, however it sent them (a key sent as the project id, beside another key)
    keys: tuple[str, ...] = ()

    _shown: _Shown | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def redactor(self) -> Redactor:
        """The credentials this request presents, masked wherever it is shown."""
        return self.shown.redactor

    @property
    def shown(self) -> _Shown:
        """The request's headers and query as the journal shows them. Made at first use and
        kept (by hand: ``functools.cached_property`` takes a lock on Python 3.11)."""
        shown = self._shown
        if shown is None:
            shown = self._shown = _Shown.of(self.headers, self.query, self.keys)
        return shown

    def masked(self, error: ApiError) -> ApiError:
        """``error`` with the request's credentials masked in its reasons: an error may quote
        what was sent (an HTTP library refusing a header quotes its value)."""
        return self.redactor.error(error)

    def masked_texts(self, texts: list[str]) -> list[str]:
        """``texts`` (warnings, which name the body's fields) with the request's credentials
        masked; the same list where there is nothing to mask."""
        redactor = self.redactor
        if not texts or not redactor.secrets:
            return texts
        return [redactor.text(text) for text in texts]


class _Shown(msgspec.Struct, frozen=True):
    """A request's credentials (:class:`Redactor`), and its headers and query as the journal
    shows them, with those credentials masked. A msgspec struct, cheaper to make than a frozen
    dataclass: every request makes one."""

    redactor: Redactor
    headers: dict[str, str]
    query: dict[str, Any]

    @staticmethod
    def of(headers: Mapping[str, str], query: list[tuple[str, str]], keys: tuple[str, ...] = ()) -> _Shown:
        # A client sends the same headers and query with every request but the body's length,
        # and working out what to show of them cost a fifth of a one-event request: they are
        # worked out once per distinct set, the length apart. A length of digits carries no
        # credential (no secret name, no "name=value") and is scrubbed on its own.
        keyed = dict(headers)  # a plain dict: the length is replaced under its own name
        length = keyed.get("content-length")
        if length is not None and length.isascii() and length.isdigit() and len(length) <= 20:
            keyed["content-length"] = "0"
        else:
            length = None
        known, lists, digits = _shown_once(tuple(keyed.items()), tuple(query), keys)
        shown_headers = dict(known.headers)
        if length is not None:
            shown_headers["content-length"] = known.redactor.text(length) if digits else length
        # copies: an entry's dicts are its own, whatever a reader of the journal does with them
        shown_query = (
            {k: list(v) if isinstance(v, list) else v for k, v in known.query.items()}
            if lists
            else dict(known.query)
        )
        return _Shown(known.redactor, shown_headers, shown_query)


# Each entry holds one set of headers and a query; the bound keeps a client sending endless new
# ones from growing it.
@functools.lru_cache(maxsize=64)
def _shown_once(
    headers: tuple[tuple[str, str], ...], query: tuple[tuple[str, str], ...], keys: tuple[str, ...]
) -> tuple[_Shown, bool, bool]:
    """The request's headers and query as shown; whether the query repeats a name (its values
    then a list, copied for each entry); and whether a credential is all digits, the only kind a
    length can hold."""
    as_dict = dict(headers)
    redactor = Redactor(as_dict, query, keys=keys)
    shown_query = _query_dict(redactor.query(query))
    lists = any(isinstance(value, list) for value in shown_query.values())
    digits = any(secret.isascii() and secret.isdigit() for secret in redactor.secrets)
    shown = _Shown(redactor, _journal_headers(redactor.headers(as_dict)), shown_query)
    return shown, lists, digits


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: close the connection without answering (a fault rule's ``drop``)
    drop: bool = False
    #: seconds the HTTP layer waits before answering (a fault rule's ``latency_ms``): it sleeps
    #: in the request's own thread or task, so only the requests a rule matches are delayed
    delay: float = 0.0
    #: a proxied answer's headers as the upstream sent them, repeated names included; the HTTP
    #: layer sends these rather than ``headers``
    upstream_headers: list[tuple[str, str]] | None = None

    def wire_headers(self) -> list[tuple[str, str]]:
        """The headers a server sends: the upstream's in proxy mode, else ``headers``; and the
        body's length."""
        sent = self.upstream_headers if self.upstream_headers is not None else list(self.headers.items())
        return [*sent, ("Content-Length", str(len(self.body)))]


def error_reply(error: ApiError) -> Reply:
    return Reply(error.status, json.dumps(error.body()).encode(), {**_JSON_HEADERS, **error.headers})


def handle(backend: Backend, request: IncomingRequest, upstream: Upstream | None = None) -> Reply:
    """Answer one request to a non-control path; with ``upstream``, as a proxy (judged here,
    then sent on)."""
    request.keys = tuple(backend.settings.api_keys)
    endpoint = spec.endpoint_for(request.path)
    if endpoint is None:
        error = request.masked(ApiError.one(404, "path", f"no endpoint at {request.path[:200]}"))
        if request.path.startswith("/v1/"):
            _journal(backend, request, None, None, request.body, error)
        return error_reply(error)
    if request.method != "POST":
        reason = f"{request.method} is not allowed; use POST"
        error = request.masked(ApiError.one(405, "method", reason, headers={"Allow": "POST"}))
        _journal(backend, request, endpoint, None, request.body, error)
        return error_reply(error)
    if upstream is not None:
        return _proxy(backend, request, endpoint, upstream)

    delay, fault = _fault(backend, request)
    reply = fault or _ingest(backend, request, endpoint)
    reply.delay = delay
    return reply


@dataclass
class _Verdict:
    """What the fake makes of a request: accepted (``validated``) or refused (``error``)."""

    project_id: str | None
    raw: bytes
    validated: Validated | None = None
    error: ApiError | None = None


def _judge(backend: Backend, request: IncomingRequest, endpoint: spec.Endpoint, *, proxy: bool) -> _Verdict:
    """The fake's verdict. A proxy holds no keys: it checks that an API key is sent, and leaves
    which key and which project to the upstream; rate limits are the upstream's too."""
    settings = backend.settings
    verdict = _Verdict(None, b"" if request.too_large else request.body)
    try:
        key = authenticate(request.headers.get("authorization"), None if proxy else settings.api_keys)
        verdict.project_id = _project_id(request.query)
        if not proxy:
            authorize(key, verdict.project_id, settings.api_keys, any_project=settings.any_project)
            if settings.rate_limit:
                _rate_limit(backend, key, settings.rate_limit)
        verdict.raw = _body(request, settings)
        verdict.validated = validate_body(endpoint, verdict.raw, settings)
    except ApiError as error:
        # Each endpoint words its 400 its own way, whatever the cause.
        if error.status == 400:
            error.message = endpoint.bad_request_message
        verdict.error = error
    except Exception:
        # A bug of ours must still answer in the envelope, never with a traceback.
        log.exception("unexpected error handling %s %s", request.method, request.path)
        verdict.error = ApiError.one(500, "body", "the fake failed on this request; please report it")
    if verdict.error is not None:
        request.masked(verdict.error)
    return verdict


def _ingest(backend: Backend, request: IncomingRequest, endpoint: spec.Endpoint) -> Reply:
    verdict = _judge(backend, request, endpoint, proxy=False)
    if verdict.error is not None:
        _journal(backend, request, endpoint, verdict.project_id, verdict.raw, verdict.error)
        return error_reply(verdict.error)
    validated, project_id = verdict.validated, verdict.project_id
    assert validated is not None and project_id is not None
    fields = _entry_fields(request, project_id, verdict.raw)
    validated, raw = _as_stored(request, validated, verdict.raw, fields["raw"])
    backend.accept(
        endpoint,
        fields["project_id"],  # the project as shown: a key sent as its id is kept masked
        validated,
        raw,
        arrived=request.arrived,
        **fields,
        items=validated.items,
        status=202,
        warnings=request.masked_texts(validated.warnings),
    )
    return Reply(202)


def _proxy(backend: Backend, request: IncomingRequest, endpoint: spec.Endpoint, upstream: Upstream) -> Reply:
    """Judge, send on (unless ``--enforce`` refuses, or the body never arrived whole), journal
    both verdicts, and store what the upstream took. The upstream's answer goes back unchanged."""
    try:
        why = "cross-site"
        check_proxy_origin(request.headers.get("origin"), request.headers.get("host"))
        why = "a loop"
        upstream.check_loop(request.headers.get("via"))
        why = "its Connection header would strip what was judged"
        check_connection(request.headers)
    except ApiError as refused:
        _journal(
            backend, request, endpoint, None, request.body, refused, upstream_error=f"not sent on: {why}"
        )
        return error_reply(refused)
    verdict = _judge(backend, request, endpoint, proxy=True)
    error = verdict.error
    unsendable = request.too_large or request.body_error is not None
    if error is not None and (upstream.enforce or unsendable):
        why = "the body did not arrive whole" if unsendable else "refused here (--enforce)"
        _journal(
            backend,
            request,
            endpoint,
            verdict.project_id,
            verdict.raw,
            error,
            upstream_error=f"not sent on: {why}",
        )
        return error_reply(error)
    started = time.perf_counter()
    answer = upstream.forward(
        request.method, request.path, request.query_string, dict(request.headers), request.body
    )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    if answer.error is not None:
        request.masked(answer.error)
    fields = _entry_fields(request, verdict.project_id, verdict.raw)
    validated = verdict.validated
    # What goes into the state is what the upstream took, as far as the fake can read it.
    stored = None
    if answer.status is not None and 200 <= answer.status < 300 and verdict.project_id is not None:
        stored = validated or _leniently(endpoint, verdict.raw, backend.settings, error)
    if validated is not None:
        fields.update(items=validated.items, warnings=request.masked_texts(validated.warnings))
    else:
        fields["items"] = _items(endpoint, verdict.raw, error)
    fields.update(
        status=error.status if error is not None else 202,
        errors=[e.as_dict() for e in error.errors] if error is not None else [],
        proxied=True,
        upstream_status=answer.status,
        upstream_error=answer.reason,
        upstream_body=answer.text(request.redactor.text),  # an upstream may echo the key
        upstream_headers=_headers_masked(request, answer.headers),
        elapsed_ms=elapsed_ms,
    )
    if stored is None:
        backend.refuse(arrived=request.arrived, **fields)
    else:
        assert verdict.project_id is not None
        stored, raw = _as_stored(request, stored, verdict.raw, fields["raw"])
        backend.accept(endpoint, fields["project_id"], stored, raw, arrived=request.arrived, **fields)
    if answer.error is not None:
        return error_reply(answer.error)
    # A Forwarded without an error holds the upstream's answer.
    assert answer.status is not None
    return Reply(answer.status, answer.body, upstream_headers=answer.headers)


def _as_stored(
    request: IncomingRequest, validated: Validated, raw: bytes, shown: bytes
) -> tuple[Validated, bytes]:
    """What the state keeps of an accepted body (``raw``, ``shown`` as the journal shows it):
    as sent, but for a credential the request presented inside it, masked there as in the
    journal. Every listing and the dashboard show the state, and a saved state is a file to
    share: a key a client put in a property must show in none of them."""
    if shown is raw or shown == raw:
        return validated, raw  # no credential in it, the usual case
    redactor = request.redactor
    return (
        msgspec.structs.replace(
            validated,
            body=redactor.parsed(validated.body),
            event_ids=redactor.parsed(validated.event_ids),
            event_users=redactor.parsed(validated.event_users),
        ),
        shown,
    )


def _headers_masked(request: IncomingRequest, headers: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    # Pair by pair: an answer may repeat a header (Set-Cookie), which a mapping would merge.
    return tuple(pair for name, value in headers for pair in request.redactor.headers({name: value}).items())


def _leniently(
    endpoint: spec.Endpoint, raw: bytes, settings: Settings, error: ApiError | None
) -> Validated | None:
    """A body refused for what it holds, read by the most lenient rules (None if still refused)."""
    if error is None or error.status != 400:
        return None
    try:
        return validate_body(endpoint, raw, dataclasses.replace(settings, **LENIENT))
    except ApiError:
        return None


def _fault(backend: Backend, request: IncomingRequest) -> tuple[float, Reply | None]:
    """The fault rules' latency in seconds, and their answer (a status or a dropped connection)."""
    if not backend.has_faults:
        return 0.0, None  # most runs set none; every request asks
    project = next((v for k, v in request.query if k == "project_id"), None)
    outcome = backend.fire_faults(request.path, project)
    delay = outcome.latency_ms / 1000
    if not outcome.faulted:
        return delay, None
    rules = ", ".join(f"#{r}" for r in outcome.rules)
    if outcome.drop:
        error = ApiError.one(503, "connection", f"dropped by fault rule {rules}")
        reply = Reply(0, drop=True)
    else:
        assert outcome.status is not None
        headers = (
            {"Retry-After": retry_after_header(outcome.retry_after)}
            if outcome.retry_after is not None
            else {}
        )
        error = ApiError.one(outcome.status, "fault", f"injected by fault rule {rules}", headers=headers)
        reply = error_reply(error)
    backend.refuse(
        arrived=request.arrived,
        **_entry_fields(request, project, request.body),
        status=reply.status,
        errors=[e.as_dict() for e in error.errors],
        faulted=True,
    )
    return delay, reply


def _rate_limit(backend: Backend, key: str, limit: str) -> None:
    wait = backend.take_token(key, limit)
    if wait is not None:
        raise ApiError.one(
            429,
            "Authorization",
            f"rate limit {limit} reached for this API key (the fake's simulation)",
            headers={"Retry-After": retry_after_header(wait)},
        )


def _project_id(query: list[tuple[str, str]]) -> str:
    values = [v for k, v in query if k == "project_id"]
    if not values:
        raise ApiError.one(400, "project_id", "required: add ?project_id=<your project id>")
    if len(values) > 1:
        raise ApiError.one(400, "project_id", f"given {len(values)} times; give it once")
    if not values[0].strip():
        raise ApiError.one(400, "project_id", "must not be empty")
    return values[0]


def _body(request: IncomingRequest, settings: Settings) -> bytes:
    if request.body_error is not None:
        raise request.body_error
    content_type = request.headers.get("content-type")
    if content_type is None:
        raise ApiError.one(415, "Content-Type", "required: send 'Content-Type: application/json'")
    if content_type not in _JSON_TYPES:
        _check_content_type(content_type)

    limit = settings.max_body_bytes
    if request.too_large or len(request.body) > limit:
        raise ApiError.one(
            413,
            "body",
            f"larger than {limit} bytes (setting max_body_bytes)",
            headers={"Connection": "close"},  # what is left of the body is not read
        )
    sent = request.headers.get("content-encoding", "").strip()
    encoding = sent.lower()
    if encoding in ("", "identity"):
        return request.body
    if encoding != "gzip":
        # quoted as sent: what masks a key in the request masks it here too
        raise ApiError.one(415, "Content-Encoding", f"must be gzip or identity, not {sent[:100]!r}")
    return _gunzip(request.body, limit)


#: what clients send, and pass: asked first, as every request asks
_JSON_TYPES = frozenset(
    {"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8"}
)


def _check_content_type(content_type: str) -> None:
    mime, _, params = content_type.partition(";")
    if mime.strip().lower() != "application/json":
        raise ApiError.one(415, "Content-Type", f"must be application/json, not {mime.strip()[:100]!r}")
    for param in filter(None, (p.strip() for p in params.split(";"))):
        name, _, value = param.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ApiError.one(415, "Content-Type", f"only '; charset=utf-8' may follow, not {param[:100]!r}")


def _gunzip(data: bytes, limit: int) -> bytes:
    """Every member of a gzip stream (RFC 1952 §2.2: a stream is members one after another),
    inflated. The limit applies to the inflated size, so a small bomb is refused without
    inflating it all; at most :data:`MAX_GZIP_MEMBERS` members, so the work stays linear in the
    data (each member starts a new inflater, and a body of many empty members would otherwise
    cost far more than its size)."""
    parts: list[bytes] = []
    size = 0
    view = memoryview(data)
    for _member in range(MAX_GZIP_MEMBERS):
        inflater = zlib.decompressobj(wbits=31)
        try:
            part = inflater.decompress(view, limit + 1 - size)
        except zlib.error as exc:
            raise ApiError.one(400, "body", f"not valid gzip data: {exc}") from None
        parts.append(part)
        size += len(part)
        if size > limit or inflater.unconsumed_tail:
            raise ApiError.one(
                413, "body", f"larger than {limit} bytes once decompressed (setting max_body_bytes)"
            )
        if not inflater.eof:
            raise ApiError.one(400, "body", "not valid gzip data: the stream is truncated")
        rest = len(inflater.unused_data)
        if not rest:
            return b"".join(parts)
        view = view[len(view) - rest :]
    raise ApiError.one(
        400,
        "body",
        f"not accepted gzip data: more than {MAX_GZIP_MEMBERS} gzip members; compress the body as one member",
    )


# --- journal ---------------------------------------------------------------------------------


def _journal(
    backend: Backend,
    request: IncomingRequest,
    endpoint: spec.Endpoint | None,
    project_id: str | None,
    raw: bytes,
    error: ApiError,
    *,
    upstream_error: str | None = None,
) -> None:
    fields = _entry_fields(request, project_id, raw)
    if endpoint is not None:
        fields["items"] = _items(endpoint, raw, error)
    if upstream_error is not None:
        fields.update(proxied=True, upstream_error=upstream_error)
    backend.refuse(
        arrived=request.arrived, **fields, status=error.status, errors=[e.as_dict() for e in error.errors]
    )


def _items(endpoint: spec.Endpoint, raw: bytes, error: ApiError | None) -> int | None:
    """The body's item count for the journal, from the refusal when it counted them."""
    if error is not None and error.counted:
        return error.items
    return endpoint.count_items(parse_json(raw))


def _entry_fields(request: IncomingRequest, project_id: str | None, raw: bytes) -> dict[str, Any]:
    shown = request.shown
    redactor = shown.redactor
    return {
        # Any token is a method, a key too (a 405), and a key may be templated into the URL by
        # mistake (a 404). Both masked as an id in the body is, for credentials of eight
        # characters or more: a short cookie value must not change "/v1/api/profiles" or "POST"
        # in the journal, nor in a recording that is replayed from it.
        "method": redactor.parsed(request.method),
        "path": redactor.parsed(request.path),
        "query": shown.query,
        "headers": shown.headers,
        # A client may put its key in the body too; the journal shows what it sent, key masked.
        "raw": redactor.body(raw),
        # or send a key as the project id (the two swapped): the project is shown, and stored
        # (see ``_ingest``), under its id masked as an id in the body is
        "project_id": project_id if project_id is None else redactor.parsed(project_id),
        "masks": redactor.masks,
    }


def _query_dict(query: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in query:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def _journal_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        if len(value) > _MAX_JOURNALED_HEADER:
            value = f"{value[:_MAX_JOURNALED_HEADER]}… ({len(value)} characters)"
        out[name] = value
    return out
