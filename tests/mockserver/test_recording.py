"""Recordings: proxy mode writes each exchange to a file, ``GET /_mock/recording`` exports the
journal in the same format, ``marketap-mock replay`` holds a fake to it, and the contract suite
turns it into tests. The upstream is a second fake with other settings, so the two disagree on
exactly the requests the test chose."""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver import Backend, LiveServer, create_app, spec
from mockserver.cli import main
from mockserver.journal import JournalEntry
from mockserver.proxy import Upstream
from mockserver.recording import (
    FORMAT,
    VERSION,
    Recorder,
    RecordingError,
    exchange_line,
    header_line,
    parse_recording,
    read_recording,
)
from mockserver.replay import in_process, progress_bar, replay, request_for
from tests.conftest import journal_entry, serving, start_serve, stop_serve
from tests.mockserver.test_proxy import recorder

SECRET = "sk_live_Zq8rT3secretvalue"  # the upstream's one key: it must never reach a file
EVENTS = f"{spec.EVENTS.path}?project_id=shop"
NAIVE = {2, 5, 8}  # the requests the upstream accepts and the fake refuses


def events(i: int, *, naive: bool = False, secret: str | None = None) -> dict[str, Any]:
    stamp = "2025-01-17T05:39:22" + ("" if naive else "Z")
    event: dict[str, Any] = {"name": "mkt_login", "user_id": f"u-{i}", "id": f"e-{i}", "timestamp": stamp}
    if secret is not None:  # a client that puts its key in a property, and quotes it in another
        event["properties"] = {"client_key": secret, "note": f"sent with {secret} by the job"}
    return {"events": [event]}


def runs(secret: str) -> set[str]:
    """Every 8-character run of ``secret``: none may show, not only the whole key."""
    return {secret[i : i + 8] for i in range(len(secret) - 7)}


def lenient_upstream() -> LiveServer:
    """The 'real service': accepts naive timestamps, and knows only SECRET."""
    return LiveServer(Backend({"allow_naive_timestamps": True, "api_keys": {SECRET: ["shop"]}}))


def send_traffic(url: str) -> None:
    """Ten requests, three of them naive, each carrying SECRET in every place a client could."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(10):
            response = client.post(
                f"{EVENTS}&api_key={SECRET}&access_token={SECRET}",
                json=events(i, naive=i in NAIVE, secret=SECRET),
                headers={
                    "Authorization": f"Bearer {SECRET}",
                    "X-Api-Key": SECRET,
                    "X-Auth-Token": SECRET,
                    "Cookie": f"session={SECRET}; theme=dark",
                    "Proxy-Authorization": f"Basic {SECRET}",
                },
            )
            assert response.status_code == 202, response.text


@contextmanager
def recording_proxy(tmp_path: Path, upstream: str, *flags: str) -> Iterator[tuple[str, Path]]:
    """A proxy in this process on werkzeug, recording to a file."""
    path = tmp_path / "staging.jsonl"
    backend = Backend()
    up = Upstream(upstream, enforce="--enforce" in flags)
    writer = Recorder(path, upstream=upstream)
    backend.listen(writer)
    with LiveServer(backend, upstream=up) as live:
        yield live.url, path
    up.close()
    writer.close()


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    """A recording of :func:`send_traffic` through a proxy in front of the lenient upstream."""
    with lenient_upstream() as upstream, recording_proxy(tmp_path, upstream.url) as (url, path):
        send_traffic(url)
    return path


def replay_command(*args: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(["replay", *args], out=out)
    return code, out.getvalue(), ""


# --- the loop, end to end -------------------------------------------------------------------


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_record_then_replay_finds_exactly_the_disagreements(
    tmp_path: Path, server: str, capsys: pytest.CaptureFixture[str], pytester: pytest.Pytester
) -> None:
    """Proxy in front of an upstream that accepts what the fake refuses (naive timestamps),
    record, replay against a fresh fake, run the file as contract tests: exactly those exchanges
    disagree, and the key sent in every position shows nowhere."""
    path = tmp_path / "staging.jsonl"
    with lenient_upstream() as upstream:
        flags = ["--upstream", upstream.url, "--record", str(path), "--server", server]
        proc, url, banner = start_serve(*flags, command="proxy")
        try:
            send_traffic(url)
            # each line is flushed as written: the file is whole while the proxy still runs
            assert len(path.read_text().splitlines()) == 11
            export = httpx.get(f"{url}/_mock/recording", timeout=30)
            journal = httpx.get(f"{url}/_mock/requests", timeout=30).text
        finally:
            console = "".join(banner) + "".join(stop_serve(proc))
    recording = read_recording(path)
    assert recording.header["format"] == FORMAT and recording.header["version"] == VERSION
    assert recording.header["upstream"] == upstream.url
    assert [e.upstream_status for e in recording.exchanges] == [202] * 10
    assert [e.status for e in recording.exchanges] == [400 if i in NAIVE else 202 for i in range(10)]
    assert all(e.elapsed_ms is not None and e.elapsed_ms >= 0 for e in recording.exchanges)
    # the export holds the same exchanges
    exported = parse_recording(export.content.splitlines(keepends=True))
    assert [(e.path, e.body, e.status) for e in exported.exchanges] == [
        (e.path, e.body, e.status) for e in recording.exchanges
    ]

    report = tmp_path / "report.json"
    capsys.readouterr()
    code, out, _ = replay_command(str(path), "--report", str(report), "--no-progress")
    assert code == 1
    assert out.splitlines()[0].endswith(": 7 agree, 3 disagree, 0 not compared")
    outcomes = json.loads(report.read_text())["exchanges"]
    assert [o["index"] for o in outcomes if o["verdict"] == "disagree"] == [i + 1 for i in sorted(NAIVE)]
    assert "events[0].timestamp" in out and "upstream 202, today's fake 400" in out

    # the body is written as sent but for the key, which a replay sends as ****
    body = json.loads(recording.exchanges[0].body)
    assert body["events"][0]["properties"] == {"client_key": "****", "note": "sent with **** by the job"}

    # the same file as contract tests: exactly the disagreements fail, the rest pass
    result = pytester.runpytest_subprocess(
        "--pyargs", "contract_tests", f"--marketap-recording={path}", "-k", "test_recorded"
    )
    result.assert_outcomes(passed=7, failed=3)
    for i in sorted(NAIVE):
        result.stdout.fnmatch_lines([f"FAILED *test_recorded?{i + 1}-POST-/v1/api/events-upstream-202?*"])

    surfaces = {
        "file": path.read_text(),
        "export": export.text,
        "report": report.read_text(),
        "replay output": out,
        "console": console,
        "journal": journal,
        "contract output": result.stdout.str(),
    }
    for name, surface in surfaces.items():
        shown = [run for run in runs(SECRET) if run in surface]
        assert shown == [], f"the {name} shows {shown}"


def test_replay_with_the_fakes_setting_relaxed_agrees(staging: Path) -> None:
    code, out, _ = replay_command(str(staging), "--allow-naive-timestamps", "--no-progress")
    assert code == 0, out
    assert out.strip().endswith(": 10 agree, 0 disagree, 0 not compared")


def test_a_recording_whose_upstream_always_agreed_passes(tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {SECRET}"}
    with (
        LiveServer(Backend({"api_keys": {SECRET: ["shop"]}})) as up,
        recording_proxy(tmp_path, up.url) as (url, path),
        httpx.Client(base_url=url, timeout=30, headers=auth) as client,
    ):
        statuses = [
            client.post(EVENTS, json=events(1)).status_code,
            client.post(EVENTS, json={"events": [{"name": 3}]}).status_code,
            client.post(EVENTS, content=b"{", headers={"Content-Type": "application/json"}).status_code,
            client.post(EVENTS, json=events(2), headers={"Content-Type": "text/plain"}).status_code,
        ]
    assert statuses == [202, 400, 400, 415]
    assert replay_command(str(path), "--no-progress")[0] == 0


def test_replay_against_a_running_fake_substitutes_the_credentials(staging: Path) -> None:
    with serving("--api-key", "ci-key-long-1", "--project-id", "ci-project") as (url, _proc):
        code, out, _ = replay_command(
            str(staging),
            "--url",
            url,
            "--api-key",
            "ci-key-long-1",
            "--project-id",
            "ci-project",
            "--no-progress",
        )
        journal = httpx.get(f"{url}/_mock/requests", timeout=30).json()["requests"]
    assert code == 1 and ": 7 agree, 3 disagree" in out
    assert {e["query"]["project_id"] for e in journal} == {"ci-project"}
    assert {e["headers"]["authorization"] for e in journal} == {"Bearer ci-k****"}


def test_replay_sends_a_header_outside_ascii_as_it_came(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    line = json.loads(GOOD)
    line["headers"]["x-note"] = "café"
    path.write_text(HEADER + json.dumps(line) + "\n")
    with recorder(status=400) as target:
        code, out, _ = replay_command(str(path), "--url", target.url, "--no-progress")
    assert code == 0, out
    assert target.seen[0]["headers"]["x-note"].encode("latin-1") == "café".encode()


def test_replay_says_why_it_cannot_reach_a_fake(staging: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LiveServer(Backend()) as server:
        url = server.url
    code, _, _ = replay_command(str(staging), "--url", url, "--no-progress")
    assert code == 2
    assert f"cannot reach {url}" in capsys.readouterr().err


# --- what is recorded -----------------------------------------------------------------------


def test_a_credential_sent_anywhere_never_reaches_the_file(tmp_path: Path) -> None:
    """The upstream echoes the key in its body, a header and a cookie of its own."""
    echo = json.dumps({"code": 401, "message": f"unknown API key {SECRET}", "key": SECRET}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Set-Cookie", f"session={SECRET}"),
        ("X-Echo", f"you sent {SECRET}"),
    ]
    positions = [
        {"Authorization": f"Bearer {SECRET}"},
        {"Authorization": f"bearer {SECRET}"},
        {"Authorization": SECRET},  # no scheme
        {"Authorization": f"Token {SECRET}"},
        {"Authorization": f"Bearer  {SECRET}"},
        {"Cookie": f"a=1; session={SECRET}"},
        {"X-Api-Key": SECRET},
        {"X-Marketap-Secret": SECRET},
        {"Api-Token": SECRET},
    ]
    with (
        recorder(status=401, body=echo, headers=headers) as up,
        recording_proxy(tmp_path, up.url) as (url, path),
    ):
        with httpx.Client(base_url=url, timeout=30) as client:
            for extra in positions:
                client.post(EVENTS, json=events(1), headers=extra)
            for name in ("api_key", "token", "password", "client_secret", "apiKey"):
                client.post(
                    f"{EVENTS}&{name}={SECRET}", json=events(1), headers={"Authorization": "Bearer k"}
                )
        assert len(up.seen) == len(positions) + 5  # all were sent on: the upstream saw the key
        export = httpx.get(f"{url}/_mock/recording", timeout=30).text
    text = path.read_text()
    assert SECRET not in text and SECRET not in export
    assert SECRET[:8] not in text and SECRET[:8] not in export
    exchanges = read_recording(path).exchanges
    assert exchanges[0].headers["authorization"] == "Bearer ****"
    assert exchanges[0].upstream_body is not None and "unknown API key ****" in exchanges[0].upstream_body
    assert ("x-echo", "you sent ****") in exchanges[0].upstream_headers
    assert ("project_id", "shop") in exchanges[-1].query  # only the credentials are hidden
    # every exchange is there, its upstream 401 not compared
    assert len(exchanges) == len(positions) + 5
    assert {e.not_compared for e in exchanges} == {
        "upstream 401: the credentials are the upstream's to judge"
    }


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_a_client_leaving_mid_body_is_recorded_as_not_sent_on(tmp_path: Path, server: str) -> None:
    import socket
    from urllib.parse import urlsplit

    path = tmp_path / "staging.jsonl"
    sent = json.dumps(events(1)).encode()
    with lenient_upstream() as upstream:
        proc, url, _ = start_serve(
            "--upstream", upstream.url, "--record", str(path), "--server", server, command="proxy"
        )
        try:
            where = urlsplit(url)
            with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
                sock.sendall(
                    f"POST {EVENTS} HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer {SECRET}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode()
                    + f'{{"events": [{{"key": "{SECRET}"'.encode()
                )
            # the proxy goes on serving, and recording, after the client left; the body is sent
            # as bytes, since httpx's own JSON spacing differs between its releases
            answer = httpx.post(
                f"{url}{EVENTS}",
                content=sent,
                headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"},
                timeout=30,
            )
            assert answer.status_code == 202
            export = httpx.get(f"{url}/_mock/recording", timeout=30).text
        finally:
            console = "".join(stop_serve(proc))
    assert "Traceback" not in console
    exchanges = read_recording(path).exchanges
    # both servers journal the request that never arrived whole, with nothing of its body
    assert sorted((e.upstream_status or 0, e.not_compared, e.body) for e in exchanges) == [
        (0, "not sent on: the body did not arrive whole", b""),
        (202, None, sent),
    ]
    for surface in (path.read_text(), export, console):
        assert [run for run in runs(SECRET) if run in surface] == []


def test_what_a_cookie_holds_is_hidden_only_where_it_is_a_credential(tmp_path: Path) -> None:
    """A cookie's value is no secret elsewhere: a body or a content type holding the same word
    is written as sent, so the replay's verdict stays the recorded one."""
    body = {"events": [{"name": "json", "user_id": "true", "properties": {"opt_in": True}}]}
    with (
        LiveServer(Backend({"api_keys": {SECRET: ["shop"]}})) as up,
        recording_proxy(tmp_path, up.url) as (url, path),
    ):
        headers = {"Authorization": f"Bearer {SECRET}", "Cookie": "fmt=json; flag=true"}
        assert httpx.post(f"{url}{EVENTS}", json=body, headers=headers, timeout=30).status_code == 202
    [exchange] = read_recording(path).exchanges
    assert json.loads(exchange.body) == body
    assert exchange.headers["content-type"] == "application/json"
    assert exchange.headers["cookie"] == "fmt=****; flag=****"  # the names stay, no value
    assert replay_command(str(path), "--no-progress")[0] == 0


def test_exchange_lines_hold_every_field(tmp_path: Path) -> None:
    entry = JournalEntry(
        id=7,
        time="2025-01-17T05:39:22.000Z",
        method="POST",
        path="/v1/api/events",
        query={"project_id": ["a", "b"]},
        headers={"content-type": "application/json"},
        raw=b"\xff\xfe not utf-8",
        status=400,
        errors=[{"field": "project_id", "reason": "given 2 times; give it once"}],
        proxied=True,
        upstream_status=400,
        upstream_headers=(("content-type", "application/json"),),
        upstream_body='{"code": 400}',
        elapsed_ms=12.5,
    )
    line = json.loads(exchange_line(entry))
    assert line == {
        "time": "2025-01-17T05:39:22.000Z",
        "method": "POST",
        "path": "/v1/api/events",
        "query": [["project_id", "a"], ["project_id", "b"]],
        "headers": {"content-type": "application/json"},
        "body_base64": base64.b64encode(b"\xff\xfe not utf-8").decode(),
        "fake": {"status": 400, "errors": entry.errors, "warnings": []},
        "upstream": {
            "status": 400,
            "error": None,
            "headers": [["content-type", "application/json"]],
            "body": '{"code": 400}',
        },
        "elapsed_ms": 12.5,
        "faulted": False,
    }
    path = tmp_path / "r.jsonl"
    path.write_text(header_line(source="proxy") + "\n" + exchange_line(entry) + "\n")
    [exchange] = read_recording(path).exchanges
    assert exchange.body == entry.raw and exchange.query == (("project_id", "a"), ("project_id", "b"))
    assert exchange.name == "1-POST-/v1/api/events-upstream-400"


def test_a_line_holds_korean_as_utf8_and_a_lone_surrogate_escaped(tmp_path: Path) -> None:
    """A line is UTF-8, as the format says; an error that quotes a lone surrogate (which UTF-8
    cannot hold) is still written, escaped, and read back the same."""
    korean = '{"events":[{"name":"구매","user_id":"김민준"}]}'.encode()
    common: dict[str, Any] = {
        "time": "t",
        "method": "POST",
        "path": "/v1/api/events",
        "query": {},
        "headers": {},
    }
    plain = JournalEntry(id=1, raw=korean, status=202, **common)
    line = exchange_line(plain)
    assert "구매" in line and "\\u" not in line
    assert json.loads(line)["body"].encode() == korean
    refused = JournalEntry(
        id=2,
        raw=b'{"events":[{"name":"\\ud800"}]}',
        status=400,
        errors=[{"field": "events[0].name", "reason": "'\ud800' is not a name"}],
        **common,
    )
    line = exchange_line(refused)
    assert line.isascii()
    assert json.loads(line)["fake"]["errors"] == refused.errors
    path = tmp_path / "r.jsonl"
    path.write_text(header_line(source="fake") + "\n" + exchange_line(plain) + "\n" + line + "\n", "utf-8")
    assert [e.body for e in read_recording(path).exchanges] == [korean, refused.raw]


def test_a_gzip_body_is_recorded_readable_and_replayed_compressed(tmp_path: Path) -> None:
    body = json.dumps(events(1)).encode()
    with (
        LiveServer(Backend({"api_keys": {SECRET: ["shop"]}})) as up,
        recording_proxy(tmp_path, up.url) as (url, path),
    ):
        response = httpx.post(
            f"{url}{EVENTS}",
            content=gzip.compress(body),
            headers={
                "Authorization": f"Bearer {SECRET}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
            timeout=30,
        )
        assert response.status_code == 202
    [exchange] = read_recording(path).exchanges
    assert exchange.body == body  # readable in the file
    sent = request_for(exchange, api_key="k", project_id="p")
    assert gzip.decompress(sent.body) == body and sent.headers["content-encoding"] == "gzip"
    assert replay_command(str(path), "--no-progress")[0] == 0


def test_huge_bodies(tmp_path: Path) -> None:
    """A body of several MiB is recorded whole and replayed; one over the proxy's limit is
    answered 413 there, never sent on, and so not compared."""
    big = {
        "events": [{"name": "e", "user_id": f"u{i}", "properties": {"pad": "x" * 4000}} for i in range(1000)]
    }
    with LiveServer(Backend({"api_keys": {SECRET: ["shop"]}})) as up:
        path = tmp_path / "big.jsonl"
        backend = Backend({"max_body_bytes": 8 << 20})
        writer = Recorder(path, upstream=up.url)
        backend.listen(writer)
        with LiveServer(backend, upstream=Upstream(up.url)) as live, httpx.Client(timeout=60) as client:
            auth = {"Authorization": f"Bearer {SECRET}"}
            assert client.post(f"{live.url}{EVENTS}", json=big, headers=auth).status_code == 202
            too_big = {"events": [*big["events"], *big["events"], *big["events"]]}
            assert client.post(f"{live.url}{EVENTS}", json=too_big, headers=auth).status_code == 413
        writer.close()
    first, second = read_recording(path).exchanges
    assert json.loads(first.body) == big
    assert second.status == 413 and second.upstream_status is None and second.body == b""
    assert second.not_compared == "not sent on: the body did not arrive whole"
    code, out, _ = replay_command(str(path), "--no-progress")
    assert code == 0 and ": 1 agree, 0 disagree, 1 not compared" in out


# --- the recorder's limits ------------------------------------------------------------------


def _entry(i: int, size: int = 100) -> JournalEntry:
    return journal_entry(i, b"x" * size)


def test_the_recorder_stops_at_its_size_limit_and_says_so_once(tmp_path: Path) -> None:
    warnings: list[str] = []
    path = tmp_path / "r.jsonl"
    recorder_ = Recorder(path, max_bytes=4096, warn=warnings.append)
    for i in range(100):
        recorder_(_entry(i))
    recorder_.close()
    assert path.stat().st_size <= 4096
    assert len(warnings) == 1 and "--record-max-bytes" in warnings[0]
    kept = read_recording(path).exchanges
    assert 10 < len(kept) < 100  # stopped where the next line would not fit, every line whole


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_the_proxy_warns_on_its_console_when_the_recording_is_full(tmp_path: Path, server: str) -> None:
    path = tmp_path / "r.jsonl"
    with LiveServer(Backend({"api_keys": {SECRET: ["shop"]}})) as up:
        flags = [
            "--upstream",
            up.url,
            "--record",
            str(path),
            "--record-max-bytes",
            "4096",
            "--server",
            server,
        ]
        proc, url, _ = start_serve(*flags, command="proxy")
        try:
            for i in range(20):
                auth = {"Authorization": f"Bearer {SECRET}"}
                httpx.post(f"{url}{EVENTS}", json=events(i), headers=auth, timeout=30)
        finally:
            console = stop_serve(proc)[0]
    assert "WARNING: recording stopped:" in console and "--record-max-bytes" in console
    assert path.stat().st_size <= 4096
    assert read_recording(path).exchanges


def test_a_recording_is_appended_to_and_a_cut_last_line_dropped(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    first = Recorder(path)
    first(_entry(1))
    first.close()
    with path.open("ab") as handle:
        handle.write(b'{"time": "2025-01-1')  # a proxy killed mid-line
    second = Recorder(path)
    second(_entry(2))
    second.close()
    assert len(read_recording(path).exchanges) == 2


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("hello\n", "line 1: not a recording"),
        ('{"format": "har"}\n', "line 1: not a recording: the first line does not name the format"),
    ],
)
def test_the_proxy_refuses_to_record_into_a_file_that_is_not_a_recording(
    tmp_path: Path, content: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        main(["proxy", "--record", str(path), "--port", "0"])
    assert exit_.value.code == 2
    assert error in capsys.readouterr().err
    assert path.read_text() == content  # untouched


def test_record_max_bytes_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("10", "-1", "1e9", "lots"):
        with pytest.raises(SystemExit):
            main(["proxy", "--record", "x.jsonl", "--record-max-bytes", bad])
        assert "--record-max-bytes" in capsys.readouterr().err


# --- bad recordings -------------------------------------------------------------------------

GOOD = (
    '{"time":"t","method":"POST","path":"/v1/api/events","query":[["project_id","p"]],'
    '"headers":{"content-type":"application/json"},"body":"{}","fake":{"status":400},"upstream":null}\n'
)
HEADER = json.dumps({"format": FORMAT, "version": VERSION}) + "\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "line 1: empty"),
        ("not json\n", "line 1: not a recording: the first line is not JSON"),
        (
            '{"format": "har", "version": 1}\n',
            "line 1: not a recording: the first line does not name the format",
        ),
        (
            json.dumps({"format": FORMAT, "version": 2}) + "\n",
            "line 1: format version 2 is not one this release reads",
        ),
        (HEADER + GOOD + GOOD[:40], "line 3: truncated"),
        (HEADER + GOOD + "{not json}\n" + GOOD, "line 3: not JSON"),
        (HEADER + "[1, 2]\n", "line 2: an exchange must be a JSON object"),
        (HEADER + "[" * 100_000 + "\n", "line 2: not JSON"),
        (HEADER + "\n", "line 2: an empty line"),
        (HEADER + GOOD.replace('"method":"POST",', ""), "line 2: 'method' is missing"),
        (HEADER + GOOD.replace('"status":400', '"status":"400"'), "line 2: 'status' must be a whole number"),
        (HEADER + GOOD.replace('"status":400', '"status":true'), "line 2: 'status' must be a whole number"),
        (
            HEADER + GOOD.replace('[["project_id","p"]]', '{"project_id":"p"}'),
            "line 2: 'query' must be an array",
        ),
        (HEADER + GOOD.replace('"body":"{}"', '"body_base64":"***"'), "line 2: 'body_base64' is not base64"),
        (HEADER + GOOD.replace('"upstream":null', '"upstream":5'), "line 2: 'upstream' must be an object"),
        # what no request can carry is refused here, not met as a traceback while sending
        (HEADER + GOOD.replace('"/v1/api/events"', '"/v1/\\ud800"'), "line 2: 'path' holds a lone surrogate"),
        (
            HEADER + GOOD.replace('"application/json"', '"application/json","x-a":"\\udfff"'),
            "line 2: header 'x-a' holds a lone surrogate",
        ),
        (
            HEADER + GOOD.replace('["project_id","p"]', '["p","\\ud800"]'),
            "line 2: 'query' holds a lone surrogate",
        ),
        (
            HEADER + GOOD.replace('"application/json"', '"application/json","x-a":"a\\r\\nb: c"'),
            "line 2: header 'x-a' holds a line break",
        ),
        (HEADER + GOOD.replace('"application/json"', '"a","x a":"v"'), 'line 2: header name "x a" is not'),
        (HEADER + GOOD.replace('"POST"', '"PO ST"'), "line 2: 'method' must be an HTTP method"),
        # a recording must not send a replay to another host
        (
            HEADER + GOOD.replace('"/v1/api/events"', '"http://elsewhere.invalid/x"'),
            "line 2: 'path' must be a path on the server",
        ),
        (
            HEADER + GOOD.replace('"/v1/api/events"', '"//elsewhere.invalid/x"'),
            "line 2: 'path' must be a path",
        ),
        (
            HEADER + GOOD.replace('"status":400', '"status":10000000000000000000000'),
            "line 2: 'status' must be an HTTP",
        ),
    ],
)
def test_a_bad_recording_is_refused_naming_the_line(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(RecordingError) as caught:
        read_recording(path)
    assert f"{path}, {error}" in str(caught.value)


def test_nothing_is_sent_for_a_file_that_fails_to_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(HEADER + GOOD * 5 + "{cut")
    with recorder() as target:
        code, _, _ = replay_command(str(path), "--url", target.url, "--no-progress")
    assert code == 2
    assert target.seen == []
    assert f"{path}, line 7: truncated" in capsys.readouterr().err


def test_a_report_that_cannot_be_written_is_said_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(HEADER + GOOD)
    report = tmp_path / "no-such-folder" / "report.json"
    with recorder() as target:
        code, _, _ = replay_command(str(path), "--url", target.url, "--report", str(report), "--no-progress")
    assert code == 2 and target.seen == []
    assert f"cannot write {report}: No such file or directory" in capsys.readouterr().err


def test_a_line_of_100_mb_is_refused_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w") as handle:
        handle.write(HEADER + GOOD + '{"time":"' + "a" * (100 << 20) + '"}\n')
    assert replay_command(str(path), "--no-progress")[0] == 2
    assert f"{path}, line 3: 'headers' is missing" in capsys.readouterr().err


def test_replay_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_command(str(tmp_path / "none.jsonl"))[0] == 2
    assert "cannot read" in capsys.readouterr().err


# --- the export and the report --------------------------------------------------------------


def test_a_plain_fakes_export_replays_against_the_fake_itself() -> None:
    """Never proxied, its exchanges are held to the fake's own verdict when recorded: a new
    release that judges differently fails."""
    backend = Backend()
    client = create_app(backend=backend).test_client()
    auth = {"Authorization": "Bearer test-api-key"}
    query = "?project_id=test-project"
    client.post(spec.EVENTS.path + query, json=events(1), headers=auth)
    client.post(spec.EVENTS.path + query, json=events(2, naive=True), headers=auth)
    client.post(spec.EVENTS.path + query, json=events(3), headers={"Authorization": "Bearer wrong-key-123"})
    answer = client.get("/_mock/recording")
    assert answer.status_code == 200 and answer.mimetype == "application/x-ndjson"
    assert "attachment" in answer.headers["Content-Disposition"]
    recording = parse_recording(answer.data.splitlines(keepends=True), source="export")
    assert recording.header["source"] == "fake" and recording.header["upstream"] is None
    exchanges = recording.exchanges
    assert [e.proxied for e in exchanges] == [False] * 3
    assert [e.name for e in exchanges] == [
        "1-POST-/v1/api/events-recorded-202",
        "2-POST-/v1/api/events-recorded-400",
        "3-POST-/v1/api/events-recorded-401",
    ]
    result = replay(exchanges, in_process(), api_key="test-api-key", project_id="test-project")
    assert [o.verdict for o in result.outcomes] == ["agree", "agree", "not_compared"]
    relaxed = replay(
        exchanges,
        in_process(backend.settings.__class__(allow_naive_timestamps=True)),
        api_key="test-api-key",
        project_id="test-project",
    )
    assert [o.verdict for o in relaxed.outcomes] == ["agree", "disagree", "not_compared"]
    assert "recorded fake 400, today's fake 202" in relaxed.text()
    # limit and project as for /_mock/requests
    assert len(parse_recording(client.get("/_mock/recording?limit=1").data.splitlines(True)).exchanges) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "rebound.example"},  # DNS rebinding
        {"Sec-Fetch-Site": "cross-site"},  # a link or frame on another site
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
    ],
)
@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_a_foreign_page_cannot_fetch_the_recording(server: str, headers: dict[str, str]) -> None:
    with serving("--server", server) as (url, _proc):
        answer = httpx.get(f"{url}/_mock/recording", headers=headers, timeout=30)
        own = httpx.get(f"{url}/_mock/recording", headers={"Sec-Fetch-Site": "same-origin"}, timeout=30)
    assert answer.status_code == 403 and answer.json()["code"] == 403
    assert own.status_code == 200


def test_the_recording_needs_the_control_token() -> None:
    client = create_app(control_token="ctl-token").test_client()
    assert client.get("/_mock/recording").status_code == 401
    assert client.get("/_mock/recording", headers={"Authorization": "Bearer ctl-token"}).status_code == 200


def test_the_report_and_the_progress_bar(
    staging: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    code, _, _ = replay_command(str(staging), "--report", str(report), "--progress")
    assert code == 1
    err = capsys.readouterr().err
    assert "\rreplaying [" in err and err.rstrip().endswith("10/10")
    data = json.loads(report.read_text())
    assert data["summary"] == {"exchanges": 10, "agree": 7, "disagree": 3, "not_compared": 0}
    assert data["format"] == "marketap-mock-replay-report" and data["recording"] == str(staging)
    third = data["exchanges"][2]
    assert third["verdict"] == "disagree" and third["expected"] == 202 and third["status"] == 400
    assert third["errors"][0]["field"] == "events[0].timestamp"
    assert third["name"] == "3-POST-/v1/api/events-upstream-202"


def test_the_progress_bar_draws_in_place() -> None:
    stream = io.StringIO()
    show = progress_bar(stream, width=4)
    show(1, 2)
    show(2, 2)
    assert stream.getvalue() == "\rreplaying [##..] 1/2\rreplaying [####] 2/2\n"


# --- the contract suite ---------------------------------------------------------------------


def test_the_contract_suite_fails_exactly_the_disagreeing_exchanges(
    staging: Path, pytester: pytest.Pytester
) -> None:
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "contract_tests",
        f"--marketap-recording={staging}",
        "-k",
        "test_recorded",
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=7, failed=3)
    for i in sorted(NAIVE):
        result.stdout.fnmatch_lines([f"FAILED *test_recorded?{i + 1}-POST-/v1/api/events-upstream-202?*"])
    result.stdout.fnmatch_lines(
        [
            "*recorded exchange disagrees: #3 POST /v1/api/events (line 4): upstream 202, today's fake 400*",
            "*the fake objects to: events?0?.timestamp: *",
        ]
    )
    assert SECRET not in result.stdout.str()


def test_the_contract_suite_passes_a_recording_that_agrees(staging: Path, pytester: pytest.Pytester) -> None:
    agreeing = pytester.path / "agreeing.jsonl"
    lines = staging.read_text().splitlines(keepends=True)
    agreeing.write_text("".join(line for n, line in enumerate(lines) if n - 1 not in NAIVE))
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "contract_tests",
        f"--marketap-recording={agreeing}",
        "-k",
        "test_recorded",
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=7)


def test_the_contract_suite_refuses_a_bad_recording(tmp_path: Path, pytester: pytest.Pytester) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(HEADER + "{cut\n")
    result = pytester.runpytest_subprocess("--pyargs", "contract_tests", f"--marketap-recording={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test session starts" not in result.stdout.str()  # refused before any test ran
    result.stderr.fnmatch_lines([f"*--marketap-recording: {path}, line 2: not JSON*"])


def test_without_a_recording_the_suite_has_no_recorded_tests(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--pyargs", "contract_tests", "--collect-only", "-q", "-p", "no:randomly"
    )
    assert "test_recording" not in result.stdout.str()
    assert result.ret == 0


def test_the_contract_command_takes_a_recording(staging: Path, tmp_path: Path) -> None:
    from tests.test_contract_suite import run_contract

    done, records = run_contract(
        tmp_path, "--recording", str(staging), "--", "-k", "test_recorded", "-p", "no:randomly"
    )
    assert done.returncode == 1
    recorded = [r for r in records if r["evidence"] == "RECORDED"]
    assert sorted(r["case"] for r in recorded if r["verdict"] == "fail") == [
        f"recorded #{i + 1} /v1/api/events" for i in sorted(NAIVE)
    ]
    assert len(recorded) == 10


# --- the docs page ----------------------------------------------------------------------------


def readme_section() -> str:
    return (Path(__file__).parents[2] / "docs" / "recordings.md").read_text(encoding="utf-8")


def test_the_readmes_commands_parse() -> None:
    import shlex

    from mockserver.cli import build_parser

    block = readme_section().split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0] for line in block.splitlines() if line.startswith("marketap-mock ")]
    assert len(commands) >= 3
    for command in commands:
        build_parser().parse_args(shlex.split(command)[1:])


def test_the_readme_names_every_key_of_the_format_and_the_report(staging: Path, tmp_path: Path) -> None:
    section = readme_section()
    lines = [json.loads(line) for line in staging.read_text().splitlines()]
    for key in [*lines[0], *lines[1], *lines[1]["fake"], *lines[1]["upstream"]]:
        assert f"`{key}`" in section or f'"{key}"' in section, key
    report = tmp_path / "report.json"
    replay_command(str(staging), "--report", str(report), "--no-progress")
    data = json.loads(report.read_text())
    for key in [*data, *data["summary"], *data["exchanges"][0]]:
        assert f'"{key}"' in section, key
