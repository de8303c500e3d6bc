"""Proxy mode over real sockets, with no internet: the upstream is a second fake with other
settings (so the two disagree on purpose) or a recording server that answers what it is told.
Every scenario runs on werkzeug (``LiveServer``) and on granian (``marketap-mock proxy``)."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from mockserver import Backend, LiveServer, spec
from mockserver.proxy import Upstream
from tests.conftest import serving

AUTH = {"Authorization": "Bearer test-api-key"}
EVENTS = f"{spec.EVENTS.path}?project_id=test-project"
NAIVE = "2025-01-17T05:39:22"  # no time zone: refused by default, accepted with allow_naive_timestamps


# --- upstreams ------------------------------------------------------------------------------


@dataclass
class Recorder:
    """An upstream that records what reaches it and answers ``status``, ``headers``, ``body``
    (after ``delay`` seconds for a path in ``slow``)."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    status: int = 202
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "application/json")])
    body: bytes = b'{"code":202,"message":"Accepted.","data":null}'
    slow: dict[str, float] = field(default_factory=dict)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.seen.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "query": environ.get("QUERY_STRING", ""),
                "headers": {
                    k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k[:5] == "HTTP_"
                }
                | {"content-type": environ.get("CONTENT_TYPE", "")},
                "body": environ["wsgi.input"].read(length),
            }
        )
        time.sleep(self.slow.get(environ["PATH_INFO"], 0))
        start_response(f"{self.status} X", list(self.headers))
        return [self.body]


@contextmanager
def recorder(**options: Any) -> Iterator[Recorder]:
    app = Recorder(**options)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()


@contextmanager
def proxy(server: str, upstream: str, *flags: str, **settings: Any) -> Iterator[tuple[str, Backend | None]]:
    """A proxy in front of ``upstream``: in this process on werkzeug (its backend is returned), or
    ``marketap-mock proxy`` on granian (control plane only)."""
    if server == "werkzeug":
        backend = Backend(settings or None)
        timeout = (
            float(flags[flags.index("--upstream-timeout") + 1]) if "--upstream-timeout" in flags else 10.0
        )
        up = Upstream(upstream, timeout=timeout, enforce="--enforce" in flags)
        with LiveServer(backend, upstream=up) as live:
            yield live.url, backend
        up.close()
        return
    args = ["--upstream", upstream, *flags, "--quiet"]
    for name, value in settings.items():
        args.append(f"--{name.replace('_', '-')}" if value is True else f"--{name.replace('_', '-')}={value}")
    with serving(*args, command="proxy") as (url, _proc):
        yield url, None


SERVERS = ["werkzeug", "granian"]


def events_body(i: int, naive: bool = False) -> dict[str, Any]:
    event: dict[str, Any] = {"name": "mkt_login", "user_id": f"u-{i}", "id": f"e-{i}"}
    event["timestamp"] = NAIVE if naive else NAIVE + "Z"
    return {"events": [event]}


# --- the acceptance test --------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("enforce", [False, True])
def test_ten_requests_three_naive(server: str, enforce: bool) -> None:
    with (
        LiveServer(Backend({"allow_naive_timestamps": True})) as upstream,
        proxy(server, upstream.url, *(["--enforce"] if enforce else [])) as (url, _),
        httpx.Client(base_url=url, headers=AUTH, timeout=30) as client,
    ):
        naive = {2, 5, 8}
        statuses = [client.post(EVENTS, json=events_body(i, i in naive)).status_code for i in range(10)]
        stored = upstream.backend.events("test-project")
        parity = client.get("/_mock/parity").json()
        journal = client.get("/_mock/requests?summary=1").json()["requests"]
        here = client.get("/_mock/events?project_id=test-project").json()["events"]
    # the proxy's state shows what the upstream took: naive timestamps too, read leniently
    assert sorted(e["user_id"] for e in here) == sorted(e["user_id"] for e in stored)
    if enforce:
        assert statuses == [400 if i in naive else 202 for i in range(10)]
        assert len(stored) == 7 and {e["user_id"] for e in stored} == {
            f"u-{i}" for i in range(10) if i not in naive
        }
        assert parity["requests"] == 7 and parity["agree"] == 7 and parity["disagree"] == []
        assert parity["not_compared"] == 3  # refused here, never sent on
        refused = [e for e in journal if e["status"] == 400]
        assert [e["upstream_status"] for e in refused] == [None] * 3
        assert all(e["upstream_error"] == "not sent on: refused here (--enforce)" for e in refused)
        return
    assert statuses == [202] * 10  # the upstream's answer, whatever the fake thinks
    assert len(stored) == 10
    assert parity["requests"] == 10 and parity["agree"] == 7
    assert [d["index"] for d in parity["disagree"]] == [3, 6, 9]  # journal ids of requests 2, 5, 8
    for disagreement in parity["disagree"]:
        assert disagreement["path"] == spec.EVENTS.path
        assert (disagreement["status"], disagreement["upstream_status"]) == (400, 202)
        [error] = disagreement["errors"]
        assert error["field"] == "events[0].timestamp" and "time zone" in error["reason"]
    assert parity["proxy"]["upstream"] == upstream.url
    assert [(e["status"], e["upstream_status"], e["agree"]) for e in journal] == [
        (400 if i in naive else 202, 202, i not in naive) for i in range(10)
    ]


# --- forwarding: what goes up and what comes back --------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_the_request_goes_up_as_sent_and_the_answer_comes_back_unchanged(server: str) -> None:
    answer = json.dumps({"code": 202, "message": "Accepted.", "data": {"x": 1}}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("X-Request-Id", "r-1"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    with recorder(status=202, headers=headers, body=answer) as up, proxy(server, up.url) as (url, backend):
        body = gzip.compress(json.dumps(events_body(1)).encode())
        query = "project_id=test-project&extra=a%20b&extra=%ED%95%9C"
        response = httpx.post(
            f"{url}{spec.EVENTS.path}?{query}",
            content=body,
            headers={
                "Authorization": "Bearer sk_live_REAL_KEY_123",
                "Content-Type": "application/json; charset=utf-8",
                "Content-Encoding": "gzip",
                "X-Client": "mine",
                "Connection": "keep-alive, X-Hop",
                "X-Hop": "for the proxy only",
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Expect": "100-continue",
            },
            timeout=30,
        )
        journal = httpx.get(f"{url}/_mock/requests", timeout=10).json()["requests"]
    assert response.status_code == 202 and response.content == answer
    assert response.headers["x-request-id"] == "r-1"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]  # repeated headers kept
    [sent] = up.seen
    assert (sent["method"], sent["path"], sent["query"]) == ("POST", spec.EVENTS.path, query)
    assert sent["body"] == body  # still gzip, byte for byte
    assert sent["headers"]["authorization"] == "Bearer sk_live_REAL_KEY_123"  # the client's own key
    assert sent["headers"]["content-encoding"] == "gzip" and sent["headers"]["x-client"] == "mine"
    assert sent["headers"]["content-type"] == "application/json; charset=utf-8"
    for hop in ("x-hop", "keep-alive", "te", "expect"):
        assert hop not in sent["headers"]
    assert sent["headers"]["host"] == up.url.removeprefix("http://")
    [entry] = journal
    assert entry["headers"]["authorization"] == "Bearer sk_l****"  # never journaled unmasked
    assert "REAL_KEY" not in json.dumps(journal)
    assert (entry["status"], entry["upstream_status"], entry["upstream_error"]) == (202, 202, None)
    if backend is not None:
        assert backend.events("test-project") == events_body(1)["events"]  # both accepted: stored


@pytest.mark.parametrize("server", SERVERS)
def test_what_the_upstream_refuses_is_not_stored(server: str) -> None:
    refusal = b'{"code":400,"message":"Invalid request parameters.","data":null}'
    headers = [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
    with (
        recorder(status=400, body=gzip.compress(refusal), headers=headers) as up,
        proxy(server, up.url) as (url, backend),
    ):
        response = httpx.post(f"{url}{EVENTS}", json=events_body(1), headers=AUTH, timeout=30)
        parity = httpx.get(f"{url}/_mock/parity", timeout=10).json()
        events = httpx.get(f"{url}/_mock/events?project_id=test-project", timeout=10).json()
        [entry] = httpx.get(f"{url}/_mock/requests", timeout=10).json()["requests"]
    assert response.status_code == 400 and response.content == refusal  # relayed gzip, inflated by httpx
    assert response.headers["content-encoding"] == "gzip"
    assert entry["upstream_body"] == refusal.decode()  # why it refused, readable in the journal
    assert parity["disagree"][0]["upstream_body"] == refusal.decode()
    assert events["total"] == 0
    assert parity["requests"] == 1 and parity["agree"] == 0
    assert parity["disagree"][0]["status"] == 202 and parity["disagree"][0]["upstream_status"] == 400
    assert backend is None or backend.events("test-project") == []


@pytest.mark.parametrize("status", [401, 403])
def test_an_upstream_refusing_the_credentials_is_not_compared(status: int) -> None:
    """Keys are the upstream's to judge (the proxy holds none): its 401 or 403 says nothing
    about whether the fake read the body right."""
    with recorder(status=status, body=b'{"code":401}') as up, proxy("werkzeug", up.url) as (url, _):
        httpx.post(f"{url}{EVENTS}", json=events_body(1), headers=AUTH, timeout=30)
        parity = httpx.get(f"{url}/_mock/parity", timeout=10).json()
        [entry] = httpx.get(f"{url}/_mock/requests", timeout=10).json()["requests"]
    assert (parity["requests"], parity["disagree"], parity["not_compared"]) == (0, [], 1)
    reason = f"upstream {status}: the credentials are the upstream's to judge"
    assert parity["not_compared_reasons"] == {reason: 1}
    assert entry["agree"] is None and entry["not_compared"] == reason


@pytest.mark.parametrize("server", SERVERS)
def test_what_only_the_upstream_accepted_is_stored_when_the_fake_can_read_it(server: str) -> None:
    with recorder() as up, proxy(server, up.url) as (url, _):
        typed = {"profiles": [{"user_id": "u-1", "properties": {"mkt_kakao_opt_in": "false"}}]}
        unreadable = {"profiles": [{"properties": {"mkt_name": "no user id"}}]}
        answers = [
            httpx.post(f"{url}{spec.PROFILES.path}?project_id=p", json=body, headers=AUTH, timeout=30)
            for body in (typed, unreadable)
        ]
        profiles = httpx.get(f"{url}/_mock/profiles?project_id=p", timeout=10).json()["profiles"]
        parity = httpx.get(f"{url}/_mock/parity", timeout=10).json()
    assert [a.status_code for a in answers] == [202, 202]  # the recorder accepts anything
    assert profiles == {"u-1": {"mkt_kakao_opt_in": "false"}}  # as the real service was sent it
    assert [d["status"] for d in parity["disagree"]] == [400, 400]


@pytest.mark.parametrize("server", SERVERS)
def test_a_body_that_never_arrived_whole_is_not_sent_on(server: str) -> None:
    with recorder() as up, proxy(server, up.url, max_body_bytes=100) as (url, _):
        too_big = httpx.post(
            f"{url}{EVENTS}", json=events_body(1) | {"pad": "x" * 200}, headers=AUTH, timeout=30
        )
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:  # the client leaves mid-body
            sock.sendall(
                f"POST {EVENTS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer k\r\n"
                'Content-Type: application/json\r\nContent-Length: 90\r\n\r\n{"events": ['.encode()
            )
            sock.shutdown(socket.SHUT_WR)
            sock.recv(4096)
        time.sleep(0.3)
        journal = httpx.get(f"{url}/_mock/requests?summary=1", timeout=10).json()["requests"]
    assert too_big.status_code == 413
    assert up.seen == []
    assert [e["status"] for e in journal] == [413, 400]
    assert all(e["upstream_error"] == "not sent on: the body did not arrive whole" for e in journal)


@pytest.mark.parametrize("server", SERVERS)
def test_a_foreign_web_page_cannot_send_through_the_proxy(server: str) -> None:
    with recorder() as up, proxy(server, up.url) as (url, _):
        foreign = httpx.post(
            f"{url}{EVENTS}",
            content=json.dumps(events_body(1)),
            headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
            timeout=30,
        )
        own = httpx.post(f"{url}{EVENTS}", json=events_body(2), headers={**AUTH, "Origin": url}, timeout=30)
        [refused, _sent] = httpx.get(f"{url}/_mock/requests?summary=1", timeout=10).json()["requests"]
    assert foreign.status_code == 403 and foreign.json()["errors"][0]["field"] == "Origin"
    assert own.status_code == 202
    assert len(up.seen) == 1 and json.loads(up.seen[0]["body"]) == events_body(2)
    assert refused["upstream_error"] == "not sent on: cross-site"


@pytest.mark.parametrize("server", SERVERS)
def test_a_slow_client_or_a_foreign_host_name_is_answered_here(server: str) -> None:
    with recorder() as up, proxy(server, up.url, read_timeout=1) as (url, _):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:  # stalls mid-body
            sock.sendall(
                f"POST {EVENTS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer k\r\n"
                "Content-Type: application/json\r\nContent-Length: 90\r\n\r\n{".encode()
            )
            answer = sock.recv(4096)
        rebound = httpx.post(
            f"{url}{EVENTS}", json=events_body(1), headers={**AUTH, "Host": "evil.example"}, timeout=10
        )
        journal = httpx.get(f"{url}/_mock/requests?summary=1", timeout=10).json()["requests"]
    assert answer.startswith(b"HTTP/1.1 408")
    assert rebound.status_code == 403 and rebound.json()["errors"][0]["field"] == "Host"
    assert up.seen == []
    assert [(e["status"], e["upstream_error"]) for e in journal] == [
        (408, "not sent on: the body did not arrive whole")
    ]


# --- upstream failures ----------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_a_silent_upstream_is_a_504_and_is_not_retried(server: str) -> None:
    with (
        recorder(slow={spec.EVENTS.path: 3}) as up,
        proxy(server, up.url, "--upstream-timeout", "0.5") as (url, _),
    ):
        started = time.monotonic()
        response = httpx.post(f"{url}{EVENTS}", json=events_body(1), headers=AUTH, timeout=30)
        took = time.monotonic() - started
        [entry] = httpx.get(f"{url}/_mock/requests?summary=1", timeout=10).json()["requests"]
    assert response.status_code == 504 and took < 2.5
    [error] = response.json()["errors"]
    assert error["field"] == "upstream" and "within 0.5 s" in error["reason"]
    assert len(up.seen) == 1  # sent once, never again
    assert entry["upstream_status"] is None and "within 0.5 s" in entry["upstream_error"]
    assert entry["status"] == 202  # the fake's own verdict stays what it was


@pytest.mark.parametrize("server", SERVERS)
def test_an_unreachable_upstream_is_a_502(server: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
        with proxy(server, dead) as (url, _):
            response = httpx.post(f"{url}{EVENTS}", json=events_body(1), headers=AUTH, timeout=30)
            parity = httpx.get(f"{url}/_mock/parity", timeout=10).json()
    assert response.status_code == 502
    [error] = response.json()["errors"]
    assert error["field"] == "upstream" and error["reason"].startswith(f"could not reach {dead}")
    assert parity == {**parity, "requests": 0, "agree": 0, "not_compared": 1}


@pytest.mark.parametrize("server", SERVERS)
def test_one_slow_upstream_call_does_not_block_others(server: str) -> None:
    slow_path = spec.PROFILES.path
    with recorder(slow={slow_path: 2.5}) as up, proxy(server, up.url) as (url, _):
        results: dict[str, float] = {}

        def timed(name: str, path: str, body: Any) -> None:
            started = time.monotonic()
            httpx.post(f"{url}{path}?project_id=p", json=body, headers=AUTH, timeout=30)
            results[name] = time.monotonic() - started

        slow = [
            threading.Thread(target=timed, args=(f"slow{i}", slow_path, {"profiles": [{"user_id": "u"}]}))
            for i in range(3)
        ]
        for thread in slow:
            thread.start()
        time.sleep(0.3)  # the slow ones are waiting on the upstream
        timed("fast", spec.EVENTS.path, events_body(1))
        for thread in slow:
            thread.join()
    assert results["fast"] < 2.0, results  # queued behind the slow ones it would wait 2.2 s or more
    assert all(results[f"slow{i}"] >= 2.5 for i in range(3))


# --- the rest of the surface ----------------------------------------------------------------


def test_the_console_marks_each_disagreement() -> None:
    from mockserver.console import format_json, format_line

    with (
        LiveServer(Backend({"allow_naive_timestamps": True})) as upstream,
        proxy("werkzeug", upstream.url) as (url, backend),
    ):
        httpx.post(f"{url}{EVENTS}", json=events_body(1), headers=AUTH, timeout=30)
        httpx.post(f"{url}{EVENTS}", json=events_body(2, naive=True), headers=AUTH, timeout=30)
        assert backend is not None
        agreed, disagreed = backend.requests()
    assert format_line(agreed).endswith("202 items=1 upstream=202")
    assert "400 items=1 upstream=202 DISAGREE events[0].timestamp" in format_line(disagreed)
    assert json.loads(format_json(disagreed))["agree"] is False
    assert "upstream_status" not in json.loads(format_json(upstream.backend.requests()[0]))  # not a proxy


def test_the_proxy_command_says_what_it_does_and_guards_its_control_plane() -> None:
    from tests.conftest import start_serve, stop_serve

    with recorder() as up:
        proc, url, lines = start_serve("--upstream", up.url, "--control-token", "tok", command="proxy")
        try:
            banner = "".join(lines)
            assert f"Marketap proxy on {url} -> {up.url}" in banner
            assert f"{url}/_mock/parity" in banner and "no retries" in banner
            assert "WARNING" not in banner  # bound to 127.0.0.1
            assert httpx.get(f"{url}/_mock/parity", timeout=10).status_code == 401
            assert httpx.get(
                f"{url}/_mock/parity", headers={"Authorization": "Bearer tok"}, timeout=10
            ).json()["proxy"] == {"upstream": up.url, "timeout": 10.0, "enforce": False}
            assert (
                httpx.post(f"{url}{EVENTS}", json=events_body(1), headers=AUTH, timeout=30).status_code == 202
            )
        finally:
            out, _err = stop_serve(proc)
    assert len(up.seen) == 1
    assert f"POST {spec.EVENTS.path} project=test-project 202 items=1 upstream=202" in out  # the console line


def test_a_broken_upstream_answer_is_a_502() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def garbage() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            conn.close()

        threading.Thread(target=garbage, daemon=True).start()
        with proxy("werkzeug", f"http://127.0.0.1:{port}") as (url, _):
            response = httpx.post(f"{url}{EVENTS}", json=events_body(1), headers=AUTH, timeout=30)
    assert response.status_code == 502
    assert response.json()["errors"][0]["reason"].startswith(f"no usable answer from http://127.0.0.1:{port}")


@pytest.mark.parametrize("server", SERVERS)
def test_other_paths_and_methods_are_not_sent_on(server: str) -> None:
    with recorder() as up, proxy(server, up.url) as (url, _):
        assert httpx.get(f"{url}{EVENTS}", headers=AUTH, timeout=10).status_code == 405
        assert (
            httpx.post(f"{url}/v1/api/other?project_id=p", json={}, headers=AUTH, timeout=10).status_code
            == 404
        )
        assert httpx.post(f"{url}/admin", json={}, timeout=10).status_code == 404
    assert up.seen == []


def test_a_proxy_refuses_fault_rules() -> None:
    with recorder() as up, proxy("werkzeug", up.url) as (url, _):
        answer = httpx.post(f"{url}/_mock/faults", json={"status": 503}, timeout=10)
    assert answer.status_code == 409 and "upstream's" in answer.json()["errors"][0]["reason"]


def test_upstream_urls_are_checked() -> None:
    from mockserver.cli import main
    from mockserver.errors import SettingsError

    for bad in ("event.marketap.io", "ftp://x", "https://x/?a=1", "http://"):
        with pytest.raises(SettingsError):
            Upstream(bad)
        with pytest.raises(SystemExit):
            main(["proxy", "--upstream", bad])
    with pytest.raises(SettingsError):
        Upstream("http://x", timeout=0)
    assert Upstream("https://event.marketap.io/").url == "https://event.marketap.io"


def test_a_plain_fake_has_an_empty_parity_account(client: Any) -> None:
    assert client.get("/_mock/parity").json == {
        "requests": 0,
        "agree": 0,
        "disagree": [],
        "not_compared": 0,
        "not_compared_reasons": {},
        "proxy": None,
    }


def test_the_docs_parity_example_has_the_answers_shape() -> None:
    from pathlib import Path

    section = Path(__file__).parents[2].joinpath("docs", "proxy.md").read_text(encoding="utf-8")
    example = json.loads(
        section[section.index("```json") + 7 : section.index("```", section.index("```json") + 7)]
    )
    with (
        LiveServer(Backend({"allow_naive_timestamps": True})) as upstream,
        proxy("werkzeug", upstream.url) as (url, _),
    ):
        httpx.post(f"{url}{EVENTS}", json=events_body(1, naive=True), headers=AUTH, timeout=30)
        answer = httpx.get(f"{url}/_mock/parity", timeout=10).json()
    assert set(example) == set(answer)
    assert set(example["disagree"][0]) == set(answer["disagree"][0])
    assert set(example["proxy"]) == set(answer["proxy"])
    assert example["disagree"][0]["errors"][0]["field"] == answer["disagree"][0]["errors"][0]["field"]


def test_a_proxy_bound_elsewhere_warns_of_production_data() -> None:
    from mockserver.cli import banner
    from mockserver.settings import Settings

    up = Upstream("https://event.marketap.io", enforce=True)
    open_text = banner("http://10.0.0.5:8080", Settings(), None, "10.0.0.5", up)
    assert "WARNING: bound to 10.0.0.5" in open_text and "production data" in open_text
    assert open_text.splitlines()[-2].endswith("protect its control plane with --control-token.")
    guarded = banner("http://10.0.0.5:8080", Settings(), "tok", "10.0.0.5", up)
    assert guarded.splitlines()[-2].endswith("production data.")
    assert "not sent on (--enforce)" in guarded
    assert "WARNING" not in banner("http://127.0.0.1:8080", Settings(), None, "127.0.0.1", up)


def test_in_process_through_flasks_test_client() -> None:
    from mockserver import create_app

    with recorder() as up:
        upstream = Upstream(up.url)
        client = create_app(upstream=upstream).test_client()
        sent = client.post(EVENTS, json=events_body(1), headers=AUTH)
        foreign = client.post(EVENTS, json=events_body(2), headers={**AUTH, "Origin": "https://evil.example"})
        rebound = client.post(EVENTS, json=events_body(3), headers={**AUTH, "Host": "evil.example"})
        parity = client.get("/_mock/parity").json
        upstream.close()
    assert sent.status_code == 202 and sent.data == Recorder().body
    assert (foreign.status_code, rebound.status_code) == (403, 403)
    assert len(up.seen) == 1 and json.loads(up.seen[0]["body"]) == events_body(1)
    assert parity["requests"] == 1 and parity["agree"] == 1


def test_parity_keeps_a_bounded_number_of_projects_and_every_count() -> None:
    from mockserver.journal import JournalEntry
    from mockserver.parity import MAX_PROJECTS, Parity

    parity = Parity()
    sent = 5 * MAX_PROJECTS
    for n in range(sent):
        entry = JournalEntry(
            id=n,
            time="",
            method="POST",
            path=spec.EVENTS.path,
            query={},
            headers={},
            raw=b"",
            status=202,
            project_id=f"project-{n}",
            proxied=True,
            upstream_status=202 if n % 2 else 400,
        )
        parity.record(entry)
    assert len(parity) <= MAX_PROJECTS
    counts = parity.as_dict()
    assert (counts["requests"], counts["agree"], len(counts["disagree"])) == (sent, sent // 2, 1000)
    # a project kept apart is still forgotten by its reset; the others' counts stay
    parity.forget(f"project-{sent - 1}")
    assert parity.as_dict()["requests"] == sent - 1


@pytest.mark.parametrize("server", SERVERS)
def test_a_key_the_client_put_in_the_body_is_stored_masked(server: str) -> None:
    key = "sk_live_Zq81mXv0Lr7PwE2n"
    auth = {"Authorization": f"Bearer {key}"}
    with recorder() as up, proxy(server, up.url) as (url, _):
        # valid, and one only the upstream accepts (the fake reads it leniently to store it)
        valid = {"profiles": [{"user_id": f"u-{key}", "properties": {"note": key}}]}
        lenient = {"profiles": [{"user_id": "u-2", "properties": {"mkt_kakao_opt_in": key}}]}
        for body in (valid, lenient):
            sent = httpx.post(f"{url}{spec.PROFILES.path}?project_id=p", json=body, headers=auth, timeout=30)
            assert sent.status_code == 202
        profiles = httpx.get(f"{url}/_mock/profiles?project_id=p", timeout=10).json()["profiles"]
    assert key in up.seen[0]["body"].decode()  # the upstream was sent the body as the client sent it
    assert profiles == {"u-sk_l****": {"note": "sk_l****"}, "u-2": {"mkt_kakao_opt_in": "sk_l****"}}
