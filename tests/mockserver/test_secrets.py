"""A credential never appears but masked: the masking rule itself, then one known secret sent
through every door in every position and searched for on every surface."""

from __future__ import annotations

import gzip
import io
import json
import socket
import threading
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from mockserver import Backend, LiveServer, create_app, spec
from mockserver.console import console_listener
from mockserver.proxy import Forwarded, Upstream
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
from pytest_plugin.inprocess import InProcess
from tests.conftest import start_serve, stop_serve

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
        # not credentials by their specification, but not listed as harmless: kept masked
        "Sec-WebSocket-Key",
        "X-CSRF-Token",
        "Idempotency-Key-Secret",
    ],
)
def test_names_of_credentials(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "content-type",
        "project_id",
        "user-agent",
        "connection",
        "x-request-id",
        "Idempotency-Key",
        "idempotency_key",
        "X-Idempotency-Key",
    ],
)
def test_names_of_other_things(name: str) -> None:
    assert not is_secret_name(name)


def test_an_idempotency_key_is_journaled_in_clear_unless_it_holds_the_secret() -> None:
    backend = Backend()
    client = create_app(backend=backend).test_client()
    body = json.dumps({"events": [{"name": "e", "user_id": "u", "timestamp": "2025-01-17T05:39:22Z"}]})
    for idempotency in ("retry-7f3a9c2e-0001", f"retry-{SECRET}"):
        answer = client.post(
            f"{spec.EVENTS.path}?project_id=test-project",
            data=body,
            headers={
                "Authorization": f"Bearer {SECRET}",
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency,
            },
        )
        assert answer.status_code in (202, 401)
    first, second = (entry.headers["idempotency-key"] for entry in backend.requests())
    assert first == "retry-7f3a9c2e-0001"
    assert_hidden(second)


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


def test_a_key_in_the_query_of_a_url_in_another_header_is_masked_wherever_it_shows() -> None:
    headers = {"referer": f"https://example.test/page?api_key={SECRET}&lang=en", "x-note": "key=ab"}
    redactor = Redactor(headers)
    shown = redactor.headers(headers)
    assert_hidden(repr(shown))
    assert shown["referer"].endswith("&lang=en") and shown["x-note"] == "key=ab"
    assert_hidden(redactor.text(f"upstream says: {SECRET}"))


def test_redact_query_and_scrub() -> None:
    query = [("project_id", "p"), ("api_key", SECRET), ("token", "abc")]
    assert redact_query(query) == [("project_id", "p"), ("api_key", "sk_l****"), ("token", MASK)]
    redactor = Redactor({}, query)
    # A library quoting a refused value escapes its control characters; the key still goes.
    assert_hidden(redactor.text(repr(f"Bearer {SECRET}\x01".encode())))
    assert_hidden(str(redactor.data({"echo": [SECRET, {SECRET: 1}]})))
    assert scrub("a short key abc stays", ["abc"]) == "a short key abc stays"


def test_prefix_false_keeps_no_character_of_a_key() -> None:
    from mockserver.secrets import hide_prefixes

    assert mask_secret(SECRET, prefix=False) == MASK
    assert mask_credentials(f"Bearer {SECRET}", prefix=False) == "Bearer ****"
    headers = {"authorization": f"Bearer {SECRET}", "x-echo": f"sent {SECRET}", "x-api-key": SECRET}
    redactor = Redactor(headers, [("api_key", SECRET)], prefix=False)
    assert redactor.headers(headers) == {
        "authorization": "Bearer ****",
        "x-echo": "sent ****",
        "x-api-key": MASK,
    }
    assert redactor.query([("api_key", SECRET)]) == [("api_key", MASK)]
    assert redactor.masks == ()
    # what a redactor with prefixes showed is hidden whole later, from its masks
    shown = Redactor(headers)
    assert shown.masks == ("sk_l****",)
    assert hide_prefixes(shown.text(f"echo {SECRET}"), shown.masks) == "echo ****"


def test_a_body_is_masked_inside_its_strings_only() -> None:
    redactor = Redactor({"authorization": f"Bearer {SECRET}", "cookie": "flag=true"}, prefix=False)
    body = f'{{"k": "{SECRET}", "n": "x{SECRET}y", "t": true, "u": "true"}}'.encode()
    # the key goes wherever it is in a string; a short cookie value ("true") stays a literal
    assert redactor.body(body) == b'{"k": "****", "n": "x****y", "t": true, "u": "true"}'
    assert redactor.body(f"api_key={SECRET}&x=1".encode()) == b"api_key=****&x=1"  # not JSON: searched whole
    assert redactor.body(b'{"a": 1}') == b'{"a": 1}'
    # a media type the fake judges keeps a cookie's short value
    assert redactor.headers({"content-type": "application/json"}) == {"content-type": "application/json"}


def test_a_string_is_masked_the_same_each_time_it_is_asked() -> None:
    """A redactor serves every request with the same headers, and remembers the strings it
    scrubbed (a method, a path, a project id), a bounded number of them."""
    redactor = Redactor({"authorization": f"Bearer {SECRET}"}, prefix=False)
    path = f"/v1/api/{SECRET}/events"
    assert redactor.parsed(path) == "/v1/api/****/events"
    assert redactor.parsed(path) == "/v1/api/****/events"
    assert redactor.parsed("POST") == "POST"
    for i in range(100):
        assert redactor.parsed(f"{SECRET}-{i}") == f"****-{i}"
    assert len(redactor._strings) == 16


def test_a_key_spelt_with_escapes_in_a_body_is_masked() -> None:
    """Any JSON reader shows ``\\u0073k_...`` as the key itself; so does ``\\/`` for a slash,
    which some encoders always write."""
    slashed = "sk_live/4eC39HqLyjWDarjtT1zdp7dc"
    redactor = Redactor({"authorization": f"Bearer {slashed}"}, prefix=False)
    spelt = "".join(f"\\u{ord(c):04x}" for c in slashed[:3]) + slashed[3:].replace("/", "\\/")
    body = f'{{"k": "{spelt}", "url": "https:\\/\\/shop.test", "name": "\\uc154\\uce20"}}'.encode()
    shown = json.loads(redactor.body(body))
    assert shown == {"k": "****", "url": "https://shop.test", "name": "셔츠"}
    # with no such escape, a body is searched byte for byte only, and left as sent
    korean = b'{"name": "\\uc154\\uce20"}'
    assert redactor.body(korean) is korean


def test_each_request_is_shown_with_its_own_credentials_and_length() -> None:
    """What the journal shows of a request's headers is worked out once per set of headers, the
    length apart: a key that is all digits is still masked where a length spells it, and each
    entry's headers are its own."""
    backend = Backend()
    client = create_app(backend=backend).test_client()
    one = {"events": [{"name": "e", "user_id": "u", "properties": {"note": "x" * 1000}}]}
    raw = json.dumps(one).encode()
    digits = str(len(raw))  # a key spelt like the first body's length, long enough to be masked
    sent = [(digits, raw), (digits, raw + b" "), (SECRET, raw), (digits, raw)]
    for key, data in sent:
        answer = client.post(
            f"{spec.EVENTS.path}?project_id=test-project",
            data=data,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        assert answer.status_code in (202, 401)
    entries = backend.requests()
    assert [e.headers["content-length"] for e in entries] == [MASK, str(len(raw) + 1), digits, MASK]
    assert [e.headers["authorization"] for e in entries] == [
        f"Bearer {MASK}",
        f"Bearer {MASK}",
        "Bearer sk_l****",
        f"Bearer {MASK}",
    ]
    entries[0].headers["content-type"] = "changed"
    entries[0].query["project_id"] = "changed"
    assert backend.requests()[3].headers["content-type"] == "application/json"
    assert backend.requests()[3].query["project_id"] == "test-project"


def test_a_key_spelt_with_escapes_never_reaches_the_journal() -> None:
    backend = Backend({"api_keys": {SECRET: [PROJECT]}})
    client = create_app(backend=backend).test_client()
    spelt = "\\u" + f"{ord(SECRET[0]):04x}" + SECRET[1:]
    body = f'{{"events": [{{"name": "e", "user_id": "u", "properties": {{"k": "{spelt}"}}}}]}}'
    answer = client.post(
        f"/v1/api/events?project_id={PROJECT}",
        data=body,
        headers={"Authorization": f"Bearer {SECRET}", **JSON},
    )
    assert answer.status_code == 202
    listing = client.get("/_mock/requests").get_data(as_text=True)
    assert SECRET not in json.dumps(json.loads(listing), ensure_ascii=False)
    assert SECRET not in json.dumps([entry.json for entry in backend.requests()])


# --- one known secret through every door, in every position -------------------------------------

SHORT = "Q7z!x"  # a short key shows as **** only; its whole self must not appear either
PROJECT = "test-project"
KEYS = {SECRET: [PROJECT], SHORT: [PROJECT]}
GOOD = {"events": [{"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}]}
BAD = {"events": [{"name": "", "user_id": "u-1", "timestamp": "then"}]}
JSON = {"Content-Type": "application/json"}
#: the key put in the body by the client: in an id, a user id, a property's name and values
IN_BODY = {
    "events": [
        {
            "name": "mkt_purchase",
            "id": f"evt-{SECRET}",
            "user_id": f"u-{SECRET}",
            "properties": {"mkt_order_id": f"o-{SECRET}", SECRET: [SECRET, {"note": f"{SECRET}!"}]},
        }
    ]
}
#: the same, each key's first character spelt as an escape, as any JSON reader reads it
IN_BODY_ESCAPED = json.dumps(IN_BODY).replace(SECRET, "\\u0073" + SECRET[1:]).encode()

#: (headers, extra query or a path's tail, body): the secret as a valid key, as a key sent without
#: "Bearer", under another scheme, in lower case, in a cookie, in each header and query parameter
#: named like a key, echoed by another header, for a project it is not valid for, the short key,
#: in the body and as names there, in the path, in the host name, as query names, as a content
#: coding, as a header's name, and as the project id
SENDINGS: list[tuple[dict[str, str], str, Any]] = [
    ({"Authorization": f"Bearer {SECRET}"}, "", GOOD),
    ({"Authorization": SECRET}, "", GOOD),
    ({"Authorization": f"{SECRET} {SECRET}"}, "", GOOD),
    ({"authorization": f"Token {SECRET}"}, "", GOOD),
    ({"Authorization": f"bearer {SECRET}", "Cookie": f"sid={SECRET}; theme=dark"}, "", BAD),
    (
        {
            "Authorization": f"Bearer {SECRET}",
            "Proxy-Authorization": f"Basic {SECRET}",
            "X-Api-Key": SECRET,
            "X-Auth-Token": SECRET,
            "Referer": f"https://shop.test/?key={SECRET}",
        },
        "",
        GOOD,
    ),
    ({"Authorization": "Bearer test-api-key"}, f"&api_key={SECRET}&token={SECRET}&key={SECRET}", GOOD),
    ({"Authorization": f"Bearer {SECRET}"}, "&project_id=other", GOOD),
    ({"Authorization": f"Bearer {SECRET}x"}, "", GOOD),
    ({"Authorization": f"Bearer {SHORT}"}, "", BAD),
    ({"Authorization": SHORT}, f"&api_key={SHORT}", GOOD),
    ({"Authorization": f"Bearer {SECRET}"}, "", IN_BODY),
    ({"Authorization": f"Bearer {SECRET}"}, "", IN_BODY_ESCAPED),
    ({"Authorization": f"Bearer {SECRET}"}, "", IN_BODY_ESCAPED[:-3]),  # the same, not JSON
    # the key templated into the path (a 404, journaled), and into the host name (a 403)
    ({"Authorization": f"Bearer {SECRET}"}, f"/{SECRET}", GOOD),
    ({"Authorization": f"Bearer {SECRET}"}, f"&{SECRET}=1&x{SECRET}", GOOD),  # as query names
    # as names in the body: a property's, quoted by the field of its error, and a field's that is
    # not the API's, quoted by a warning; and as a content coding, quoted by its 415
    (
        {"Authorization": f"Bearer {SECRET}"},
        "",
        {"events": [{**GOOD["events"][0], "properties": {SECRET: "y" * 70_000}}]},
    ),
    ({"Authorization": f"Bearer {SECRET}"}, "", {"events": [{**GOOD["events"][0], SECRET: 1}]}),
    ({"Authorization": f"Bearer {SECRET}", "Content-Encoding": SECRET}, "", GOOD),
    ({"Authorization": f"Bearer {SECRET}", "Host": f"{SECRET}.Shop.example"}, "", GOOD),
    # as a header's name, which a server passes on in lower case, and a WSGI environ with "-"
    ({"Authorization": f"Bearer {SECRET}", f"X-{SECRET}": "1"}, "", GOOD),
    # the key sent as both the key and the project id, and the two swapped (last)
    ({"Authorization": f"Bearer {SECRET}"}, f"&project_id={SECRET}", BAD),
    ({"Authorization": f"Bearer {PROJECT}"}, f"&project_id={SECRET}", GOOD),
]
#: what a proxy, which knows no keys, can mask: a key the request presents
PRESENTED = SENDINGS[:-1]

#: what the control plane shows, read after the sendings
VIEWS = [
    "/_mock/requests",
    "/_mock/requests?summary=1",
    "/_mock/requests/1",
    "/_mock/requests/5",
    "/_mock/health",
    "/_mock/settings",
    "/_mock/parity",
    "/_mock/first-request",
    f"/_mock/events?project_id={PROJECT}",
    f"/_mock/profiles?project_id={PROJECT}",
    f"/_mock/deletion-jobs?project_id={PROJECT}",
    "/_mock/state",
    "/_mock/faults",
    f"/_mock/events?project_id={PROJECT}&limit={SECRET}",  # a refusal that quotes the value
]
#: what a proxy, which knows no keys, is asked: the last view presents no key
PROXY_VIEWS = VIEWS[:-1]


#: the secret as a header name holding it is passed on: in lower case, and with "-" for "_"
NAME_FORMS = [SECRET.lower(), SECRET.lower().replace("_", "-")]


def assert_no_secret(text: str) -> None:
    __tracebackhide__ = True
    assert_hidden(text)
    for form in NAME_FORMS:
        assert_hidden(text, form)
    assert SHORT not in text, f"{SHORT!r} shown in {text[:2000]!r}"


def _target(query: str) -> str:
    if query.startswith("/"):  # a path's tail
        return f"/v1/api/events{query}?project_id={PROJECT}"
    # A repeated project_id is refused: the project goes first, any other after it.
    if "project_id=" in query:
        return f"/v1/api/events?{query.lstrip('&')}"
    return f"/v1/api/events?project_id={PROJECT}{query}"


def _send_all(post: Any, sendings: list[tuple[dict[str, str], str, Any]] = SENDINGS) -> str:
    """Every sending through ``post(url, headers, body) -> (status, headers, body)``; what came
    back, as text."""
    seen = []
    for headers, query, body in sendings:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, answer_headers, answer = post(_target(query), {**JSON, **headers}, data)
        assert status in (202, 400, 401, 403, 404, 415), (headers, status, answer)
        seen.append(f"{status} {answer_headers!r} {answer!r}")
    return "\n".join(seen)


def _views(get: Any, views: list[str] = VIEWS) -> str:
    return "\n".join(get(path) for path in views)


def _surfaces_in_process(backend: Backend) -> str:
    listing = [json.dumps(entry.as_dict()) for entry in backend.requests()]
    state = json.dumps(backend.snapshot(), ensure_ascii=False)
    return "\n".join([*listing, json.dumps(backend.health()), json.dumps(backend.settings.as_dict()), state])


@pytest.mark.parametrize("door", ["test_client", "in_process"])
def test_no_door_without_a_socket_shows_the_secret(door: str) -> None:
    backend = Backend({"api_keys": KEYS})
    console = io.StringIO()
    backend.listen(console_listener("text", stream=console))
    backend.listen(console_listener("json", stream=console))
    client = create_app(backend=backend).test_client()
    if door == "test_client":
        answers = _send_all(
            lambda url, headers, data: (lambda r: (r.status_code, dict(r.headers), r.data))(
                client.post(url, data=data, headers=headers)
            )
        )
    else:
        routes = InProcess(create_app(backend=backend)).start()
        try:
            with httpx.Client(base_url=spec.BASE_URL) as http:
                answers = _send_all(
                    lambda url, headers, data: (lambda r: (r.status_code, dict(r.headers), r.content))(
                        http.post(url, content=data, headers=headers)
                    )
                )
        finally:
            routes.stop()
    views = _views(lambda path: client.get(path).get_data(as_text=True))
    assert views.count("Bearer sk_l****") >= 2  # what is journaled is there, masked
    for text in (answers, views, console.getvalue(), _surfaces_in_process(backend)):
        assert_no_secret(text)


def test_no_live_server_shows_the_secret_werkzeug() -> None:
    backend = Backend({"api_keys": KEYS})
    console = io.StringIO()
    backend.listen(console_listener("text", stream=console))
    with LiveServer(backend) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        answers = _send_all(
            lambda url, headers, data: (lambda r: (r.status_code, dict(r.headers), r.content))(
                http.post(url, content=data, headers=headers)
            )
        )
        views = _views(lambda path: http.get(path).text)
    for text in (answers, views, console.getvalue(), _surfaces_in_process(backend)):
        assert_no_secret(text)


@pytest.mark.slow  # servers in subprocesses
def test_no_live_server_shows_the_secret_granian() -> None:
    proc, url, banner = start_serve("--api-key", SECRET, "--api-key", SHORT, "--project-id", PROJECT)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            answers = _send_all(
                lambda target, headers, data: (lambda r: (r.status_code, dict(r.headers), r.content))(
                    http.post(target, content=data, headers=headers)
                )
            )
            views = _views(lambda path: http.get(path).text)
    finally:
        out, err = stop_serve(proc)
    assert "YOUR_API_KEY" in "".join(banner)
    assert "POST /v1/api/events" in out  # the console printed the requests
    for text in (answers, views, "".join(banner), out, err):
        assert_no_secret(text)


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """An upstream that refuses everything and quotes what it was sent: the client's key too."""
    seen = {k: v for k, v in environ.items() if k.startswith("HTTP_") or k == "QUERY_STRING"}
    start_response("400 Bad Request", [("Content-Type", "application/json"), ("X-Seen", str(seen))])
    return [json.dumps({"code": 400, "message": "Invalid request parameters.", "seen": seen}).encode()]


def _raw(url: str, head: bytes, body: bytes) -> bytes:
    """One request written on a socket as is (a control byte in a header, which clients refuse)."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow  # servers in subprocesses
@pytest.mark.parametrize("server", ["werkzeug", "granian"])
def test_no_proxy_shows_the_secret_nor_an_upstreams_echo_of_it(server: str) -> None:
    upstream = make_server("127.0.0.1", 0, _echo, threaded=True)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    up_url = f"http://127.0.0.1:{upstream.server_port}"
    console = io.StringIO()
    outputs: list[str] = []
    try:
        if server == "werkzeug":
            backend = Backend()
            backend.listen(console_listener("text", stream=console))
            forwarder = Upstream(up_url, timeout=30)
            with LiveServer(backend, upstream=forwarder) as live:
                outputs += _through_proxy(live.url)
            forwarder.close()
            outputs += [console.getvalue(), _surfaces_in_process(backend)]
        else:
            proc, url, banner = start_serve("--upstream", up_url, command="proxy")
            try:
                outputs += [*_through_proxy(url), "".join(banner)]
            finally:
                outputs += stop_serve(proc)
    finally:
        upstream.shutdown()
    assert any("disagree" in text and "sk_l****" in text for text in outputs)  # parity lists the echo
    for text in outputs:
        assert_no_secret(text)


def _through_proxy(url: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=60) as http:
        answers = _send_all(
            lambda target, headers, data: (lambda r: (r.status_code, dict(r.headers), r.content))(
                http.post(target, content=data, headers=headers)
            ),
            PRESENTED,
        )
        body = json.dumps(GOOD).encode()
        head = (
            f"POST /v1/api/events?project_id={PROJECT} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer {SECRET}\x0b\r\n"
        ).encode()
        raw = _raw(url, head, body).decode("latin-1")
        # The upstream's own answers go back to the client as they came, byte for byte: the
        # client holds its key already. Everything the proxy says itself is searched.
        assert answers.count("sk_live_") >= 1
        assert '"seen"' not in raw, raw  # httpx refuses the header: the proxy answers itself
        return [raw, _views(lambda path: http.get(path).text, PROXY_VIEWS)]


@pytest.mark.slow  # servers in subprocesses
def test_no_failure_message_of_the_plugin_shows_the_secret(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        f"[pytest]\nasyncio_default_fixture_loop_scope = function\nmarketap_api_key = {SECRET}\n"
    )
    pytester.makepyfile(
        f"""
        import httpx
        import pytest

        SECRET = {SECRET!r}
        BAD = {BAD!r}

        def send(marketap):
            url = marketap.url_for("/v1/api/events")
            json_ = {{"Content-Type": "application/json"}}
            httpx.post(url + "&api_key=" + SECRET, headers={{**json_, "Authorization": SECRET}}, json=BAD)
            httpx.post(url, headers={{**json_, "Authorization": "Token " + SECRET, "X-Api-Key": SECRET}}, json=BAD)
            httpx.post(url, headers={{**json_, "Authorization": "Bearer " + SECRET, "Cookie": "s=" + SECRET}}, json=BAD)

        @pytest.mark.parametrize("name", ["marketap", "marketap_inprocess"])
        @pytest.mark.parametrize("check", ["rejected", "listing", "event"])
        def test_fails(request, name, check):
            marketap = request.getfixturevalue(name)
            send(marketap)
            if check == "rejected":
                marketap.assert_no_rejected_requests()
            elif check == "listing":
                assert [r.headers for r in marketap.requests] == []
            else:
                marketap.assert_event_sent("mkt_purchase", user_id="u-1")
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-vv")
    result.assert_outcomes(failed=6)
    output = result.stdout.str() + result.stderr.str()
    assert output.count("Unauthorized request") + output.count("Authorization") >= 6
    assert_no_secret(output)


# --- a key in a large body ---------------------------------------------------------------------


def test_a_key_in_a_large_body_is_masked_in_the_journal() -> None:
    """The masking of a 1,000-event body, with the key anywhere in it, finds it."""
    events = [{"name": "e", "user_id": f"u-{i}", "properties": {"note": "x" * 50}} for i in range(1000)]
    for where in (0, 500, 999):
        events[where]["properties"]["note"] = "sent test-api-key by mistake"
        raw = json.dumps({"events": events}).encode()
        masked = Redactor({"authorization": "Bearer test-api-key"}, []).body(raw)
        assert b"test-api-key" not in masked and masked.count(b"test****") == 1
        events[where]["properties"]["note"] = "x" * 50


def test_a_key_in_a_body_is_stored_masked_and_its_user_can_still_be_deleted() -> None:
    backend = Backend({"api_keys": KEYS, "deletion_jobs": "manual"})
    client = create_app(backend=backend).test_client()
    user = f"u-{SECRET}"

    def post(endpoint: spec.Endpoint, body: Any) -> int:
        headers = {"Authorization": f"Bearer {SECRET}", **JSON}
        return client.post(f"{endpoint.path}?project_id={PROJECT}", json=body, headers=headers).status_code

    profile = {"user_id": user, "properties": {"mkt_name": "홍길동", "token": SECRET}}
    assert post(spec.PROFILES, {"profiles": [profile]}) == 202
    assert post(spec.DEVICES, {"devices": [{"device_id": "d-1", "platform": "ios", "user_id": user}]}) == 202
    assert post(spec.EVENTS, IN_BODY) == 202
    shown = mask_secret(SECRET)
    assert backend.profiles(PROJECT) == {f"u-{shown}": {"mkt_name": "홍길동", "token": shown}}
    assert backend.devices(PROJECT)["d-1"]["user_id"] == f"u-{shown}"
    assert backend.events(PROJECT)[0]["properties"] == {
        "mkt_order_id": f"o-{shown}",
        shown: [shown, {"note": f"{shown}!"}],
    }
    # the deletion request names the user as sent, and is stored masked the same way
    assert post(spec.DELETION, {"user_id": user}) == 202
    assert backend.deletion_jobs(PROJECT)[0]["user_ids"] == [f"u-{shown}"]
    backend.complete_deletion_jobs()
    assert backend.profiles(PROJECT) == {} and backend.events(PROJECT) == []
    assert backend.devices(PROJECT)["d-1"]["user_id"] is None
    assert_hidden(json.dumps(backend.snapshot(), ensure_ascii=False))


def test_a_key_sent_as_the_project_id_is_stored_masked_and_found_again() -> None:
    """With ``any_project``, a key sent as the project id (the client's two arguments swapped)
    names a project: it is kept under that name masked, where a listing or a saved state shows
    it, and a later request naming it as sent finds it."""
    backend = Backend({"api_keys": KEYS, "any_project": True, "deletion_jobs": "manual"})
    client = create_app(backend=backend).test_client()
    headers = {"Authorization": f"Bearer {SECRET}", **JSON}

    def post(endpoint: spec.Endpoint, body: Any) -> int:
        return client.post(f"{endpoint.path}?project_id={SECRET}", json=body, headers=headers).status_code

    assert post(spec.PROFILES, {"profiles": [{"user_id": "u-1"}]}) == 202
    assert post(spec.EVENTS, GOOD) == 202
    shown = mask_secret(SECRET)
    assert backend.profiles(shown) == {"u-1": {}} and len(backend.events(shown)) == 1
    assert [entry.project_id for entry in backend.requests()] == [shown, shown]
    assert post(spec.DELETION, {"user_id": "u-1"}) == 202
    backend.complete_deletion_jobs()
    assert backend.profiles(shown) == {} and backend.events(shown) == []
    for text in (
        json.dumps(backend.snapshot(), ensure_ascii=False),
        client.get("/_mock/state").get_data(as_text=True),
        client.get("/_mock/requests").get_data(as_text=True),
        client.get(f"/_mock/deletion-jobs?project_id={shown}").get_data(as_text=True),
    ):
        assert_hidden(text)


def test_a_key_sent_as_the_method_is_masked() -> None:
    """Any token is a method: one holding the key is refused with a 405 and journaled."""
    backend = Backend({"api_keys": KEYS})
    console = io.StringIO()
    backend.listen(console_listener("text", stream=console))
    client = create_app(backend=backend).test_client()
    answer = client.open(
        f"/v1/api/events?project_id={PROJECT}",
        method=f"X{SECRET}",
        data=json.dumps(GOOD),
        headers={"Authorization": f"Bearer {SECRET}", **JSON},
    )
    assert answer.status_code == 405
    (entry,) = backend.requests()
    assert entry.method == f"X{mask_secret(SECRET)}"
    for text in (answer.get_data(as_text=True), console.getvalue(), _surfaces_in_process(backend)):
        assert_no_secret(text)


def test_a_control_call_refused_masks_the_keys_it_quotes() -> None:
    """A refusal of the control plane quotes what was sent (a fault's field, a setting's value, a
    state's version): a key the fake knows is masked there, sent or not as a credential."""
    backend = Backend({"api_keys": KEYS})
    client = create_app(backend=backend).test_client()
    calls = [
        ("post", "/_mock/faults", {"path": SECRET, "status": 503}),
        ("post", "/_mock/faults", {"path": "/v1/api/events", "status": SECRET}),
        ("patch", "/_mock/settings", {"deletion_jobs": SECRET}),
        ("patch", "/_mock/settings", {SECRET: 1}),
        ("put", "/_mock/state", {"format": "marketap-mock-state", "version": SECRET}),
    ]
    for method, path, body in calls:
        answer = getattr(client, method)(path, json=body)
        assert answer.status_code == 400
        text = answer.get_data(as_text=True)
        assert "sk_l****" in text
        assert_no_secret(text)


def test_an_upstream_echo_across_the_journals_cut_is_masked_whole() -> None:
    """The journal keeps an upstream's answer up to 2,000 characters: a key it echoes across that
    cut must be masked before it, or all but its last characters would show."""
    redactor = Redactor({"authorization": f"Bearer {SECRET}"}, [])
    for before in (1980, 1990, 1999):
        body = ("x" * before + SECRET + "y" * 50).encode()
        for headers, data in (([], body), ([("Content-Encoding", "gzip")], gzip.compress(body))):
            text = Forwarded(400, headers, data).text(redactor.text)
            assert text is not None and text.startswith("x" * before)
            assert_no_secret(text)
            assert SECRET[:8] not in text


@pytest.mark.parametrize(
    "head",
    [
        # a header line with no colon, a transfer coding, a chunk size: each quoted by its 400
        f"POST /v1/api/events?project_id={PROJECT} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET}\r\n",
        f"POST /v1/api/events?project_id={PROJECT} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: {SECRET}\r\n",
    ],
    ids=["header-line", "transfer-coding"],
)
def test_the_werkzeug_server_masks_what_it_refuses_before_the_app(head: str) -> None:
    backend = Backend({"api_keys": KEYS})
    with LiveServer(backend) as server:
        answer = _raw(server.url, head.encode(), b"{}").decode("latin-1")
    assert answer.startswith("HTTP/1.1 400") and "sk_l****" in answer
    assert_no_secret(answer)


def test_the_werkzeug_server_masks_a_key_sent_as_a_chunk_size() -> None:
    backend = Backend({"api_keys": KEYS})
    head = (
        f"POST /v1/api/events?project_id={PROJECT} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {SECRET}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with LiveServer(backend) as server:
        host, port = server.url.rsplit("/", 1)[-1].split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(head.encode() + SECRET.encode() + b"\r\nabc\r\n0\r\n\r\n")
            answer = b"".join(iter(lambda: sock.recv(65536), b"")).decode("latin-1")
        views = _views(lambda path: httpx.get(server.url + path, timeout=30).text)
    assert answer.startswith("HTTP/1.1 400") and "chunk size" in answer
    for text in (answer, views):
        assert_no_secret(text)
        assert SECRET[:8] not in text


def test_a_short_credential_never_changes_the_journaled_path_or_method() -> None:
    """Only a credential of eight characters or more is searched for in a path or a method: a
    short cookie value that happens to be part of one must not change what a recording replays."""
    backend = Backend({"api_keys": KEYS})
    client = create_app(backend=backend).test_client()
    client.set_cookie("sid", "user")  # the test client sends its own cookies, not a header's
    client.set_cookie("theme", "POST")
    headers = {"Authorization": f"Bearer {SECRET}", **JSON}
    answer = client.post(
        f"{spec.PROFILES.path}?project_id={PROJECT}", json={"profiles": [{"user_id": "u-1"}]}, headers=headers
    )
    assert answer.status_code == 202
    (entry,) = backend.requests()
    assert (entry.method, entry.path) == ("POST", spec.PROFILES.path)
    assert "user" not in entry.headers["cookie"] and "POST" not in entry.headers["cookie"]


def test_a_key_given_as_data_is_shown_masked_and_still_works() -> None:
    """A key the fake knows, given by its user where data goes (``--project-id`` and
    ``--api-key`` swapped, a fault rule's project, a saved state's ids), is shown masked by
    every view, the banner and the first request included, as a request carrying it is. A fault
    rule still matches the project as sent."""
    from mockserver.cli import banner

    backend = Backend({"api_keys": {SECRET: [SECRET, "shop"]}})
    client = create_app(backend=backend).test_client()
    state = {
        "format": "marketap-mock-state",
        "version": 1,
        "projects": {
            "shop": {
                "profiles": {SECRET: {"note": f"copied {SECRET}"}},
                "events": [{"name": "e", "user_id": SECRET, "timestamp": "2025-01-17T05:39:22Z"}],
            }
        },
    }
    loaded = client.put("/_mock/state", json=state)
    assert loaded.status_code == 200, loaded.text
    # after the load, which starts from a reset and so clears the rules
    rule = client.post("/_mock/faults", json={"project_id": SECRET, "status": 503, "times": 1})
    assert rule.status_code == 201, rule.text
    shown = [rule.text, loaded.text, banner("http://127.0.0.1:8080", backend.settings, None, "127.0.0.1")]
    for view in (
        "settings",
        "first-request",
        "faults",
        "state",
        "profiles?project_id=shop",
        "events?project_id=shop",
    ):
        answer = client.get(f"/_mock/{view}")
        assert answer.status_code == 200, (view, answer.text)
        shown.append(answer.text)
    for text in shown:
        assert_hidden(text)
    assert "sk_l****" in client.get("/_mock/settings").text
    assert backend.profiles("shop") == {"sk_l****": {"note": "copied sk_l****"}}
    headers = {"Authorization": f"Bearer {SECRET}"}
    body = {"events": [{"name": "e", "user_id": "u"}]}
    assert client.post(f"/v1/api/events?project_id={SECRET}", json=body, headers=headers).status_code == 503
    assert client.get("/_mock/faults").json["faults"][0]["fired"] == 1


@pytest.mark.parametrize(
    ("max_depth", "depth", "status"), [(64, 900, 400), (10_000, 300, 400), (10_000, 100, 200)]
)
def test_a_deep_saved_state_is_checked_before_it_is_searched_for_keys(
    max_depth: int, depth: int, status: int
) -> None:
    """The search for keys walks a state by recursion; the checks, which bound its nesting, come
    first, so a state nested deeper than the search could walk is a 400 naming where, not a 500,
    and one the checks take is stored with the key masked."""
    client = create_app(backend=Backend({"max_depth": max_depth, "api_keys": {SECRET: ["p"]}})).test_client()
    nested = "[" * depth + json.dumps(SECRET) + "]" * depth
    state = '{"format": "marketap-mock-state", "version": 1, "projects": {"p": {"profiles": {"u": {"x": '
    state += nested + "}}}}}"
    answer = client.put("/_mock/state", data=state, content_type="application/json")
    assert answer.status_code == status, answer.text
    if status == 200:
        assert_hidden(client.get("/_mock/state").text)
    else:
        assert answer.json["errors"][0]["field"].startswith("projects.p")
