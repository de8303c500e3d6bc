"""The console log of ``marketap-mock serve``: text (plain or coloured) and JSON."""

from __future__ import annotations

import io
import json
import re
import threading
import time

import pytest
import requests

from mockserver import Backend, create_app
from mockserver.console import console_listener, format_line
from mockserver.journal import JournalEntry
from tests.conftest import AUTH, PROJECT, journal_entry, serving, start_serve, stop_serve

BAD = {
    "events": [{"name": "a", "user_id": "u"}, {"name": "b"}, {"name": "c", "user_id": "u", "timestamp": "x"}]
}


def _send(backend: Backend) -> None:
    client = create_app(backend=backend).test_client()
    client.post(
        f"/v1/api/events?project_id={PROJECT}", json={"events": [{"name": "a", "user_id": "u"}]}, headers=AUTH
    )
    client.post(f"/v1/api/events?project_id={PROJECT}", json=BAD, headers=AUTH)
    client.post(
        f"/v1/api/events?project_id={PROJECT}",
        json={"events": []},
        headers={"Authorization": "Bearer sk_live_secret_key"},
    )


def test_text_lines() -> None:
    backend, out = Backend(), io.StringIO()
    backend.listen(console_listener("text", stream=out))
    _send(backend)
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d POST /v1/api/events project=test-project 202 items=1", lines[0])
    assert lines[1].endswith("400 items=3 events[1].user_id: required (+1 more)")
    assert lines[2].endswith("project=- 401 items=0 Authorization: unknown API key sk_l****")
    assert "\033[" not in out.getvalue()  # not a terminal: no colour
    assert "sk_live_secret_key" not in out.getvalue()


def test_colour_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    backend, out = Backend(), Tty()
    backend.listen(console_listener("text", stream=out))
    _send(backend)
    assert "\033[32m202\033[0m" in out.getvalue() and "\033[33m400\033[0m" in out.getvalue()


def test_no_colour_when_no_color_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", "1")  # no-color.org
    backend, out = Backend(), Tty()
    backend.listen(console_listener("text", stream=out))
    _send(backend)
    assert "\033[" not in out.getvalue() and " 202 " in out.getvalue()


def test_json_lines() -> None:
    backend, out = Backend(), io.StringIO()
    backend.listen(console_listener("json", stream=out))
    _send(backend)
    first, second, third = (json.loads(line) for line in out.getvalue().splitlines())
    assert (first["status"], first["items"], first["errors"]) == (202, 1, [])
    assert [e["field"] for e in second["errors"]] == ["events[1].user_id", "events[2].timestamp"]
    assert third["status"] == 401 and "sk_live_secret_key" not in json.dumps(third)


def test_quiet_keeps_only_rejections() -> None:
    backend, out = Backend(), io.StringIO()
    backend.listen(console_listener("text", quiet=True, stream=out))
    _send(backend)
    assert [line.split()[4] for line in out.getvalue().splitlines()] == ["400", "401"]


def test_faults_and_warnings_show() -> None:
    backend = Backend()
    backend.add_fault({"status": 503, "times": 1})
    out = io.StringIO()
    backend.listen(console_listener("text", stream=out))
    client = create_app(backend=backend).test_client()
    body = {"events": [{"name": "a", "user_id": "u", "extra": 1}]}
    client.post(f"/v1/api/events?project_id={PROJECT}", json=body, headers=AUTH)
    client.post(f"/v1/api/events?project_id={PROJECT}", json=body, headers=AUTH)
    first, second = out.getvalue().splitlines()
    assert "503 [fault] fault: injected by fault rule #1" in first
    assert second.endswith("202 items=1 warning: events[0].extra: unknown field ignored")


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_serve_prints_a_line_per_request(server: str, log_format: str) -> None:
    with serving("--server", server, "--log-format", log_format) as (url, proc):
        assert proc.stdout is not None
        requests.post(f"{url}/v1/api/events?project_id={PROJECT}", json=BAD, headers=AUTH, timeout=10)
        line = proc.stdout.readline()
    if log_format == "json":
        assert json.loads(line)["errors"][0]["field"] == "events[1].user_id"
    else:
        assert "400 items=3 events[1].user_id: required (+1 more)" in line


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_the_last_request_before_a_stop_is_printed(server: str) -> None:
    """Lines wait a moment to go out together; a stop right after a request still prints it
    (granian's worker ends without running exit handlers)."""
    proc, url, _banner = start_serve("--server", server)
    try:
        answer = requests.post(
            f"{url}/v1/api/events?project_id={PROJECT}", json=BAD, headers=AUTH, timeout=10
        )
        assert answer.status_code == 400
    finally:
        out, _err = stop_serve(proc)
    assert "400 items=3 events[1].user_id: required (+1 more)" in out


def test_format_line_for_a_drop() -> None:
    entry = JournalEntry(
        1,
        "2026-01-01T10:00:00.000Z",
        "POST",
        "/v1/api/events",
        {},
        {},
        b"",
        0,
        [{"field": "connection", "reason": "dropped by fault rule #1"}],
        [],
        True,
        "p",
    )
    assert (
        format_line(entry)
        == "10:00:00 POST /v1/api/events project=p DROP [fault] connection: dropped by fault rule #1"
    )


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_a_console_nobody_reads_holds_up_no_request(server: str) -> None:
    # stdout is a pipe this test never reads: once the pipe is full, a line written in the
    # request's thread would block, and with it every later request.
    with serving("--server", server) as (url, _proc), requests.Session() as session:
        path = f"{url}/v1/api/events?project_id={PROJECT}"
        for _ in range(2500):  # some 150 KB of console lines, over twice a pipe's buffer
            answer = session.post(
                path, json={"events": [{"name": "e", "user_id": "u"}]}, headers=AUTH, timeout=30
            )
            assert answer.status_code == 202


class _Stuck(io.StringIO):
    """A console whose first write blocks until ``release`` is set (``entered`` once it has)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait(30)
        return super().write(text)


def test_a_full_console_queue_drops_lines_and_says_how_many() -> None:
    from mockserver.console import _Writer

    out = _Stuck()
    entered, release = out.entered, out.release
    writer = _Writer(out)
    # The writer takes the first line and is stuck writing it; only then is the queue filled, so
    # exactly the lines past its room are dropped.
    writer.put("line 0\n")
    assert entered.wait(30)
    for i in range(1, writer.MAX_WAITING + 11):
        writer.put(f"line {i}\n")
    assert writer.dropped == 10
    release.set()
    assert writer.join(30)
    writer.put("after\n")
    assert writer.join(30)
    text = out.getvalue()
    assert text.startswith("line 0\n(10 lines not shown: the console was not being read)\nline 1\n")
    assert len([line for line in text.splitlines() if line.startswith("line ")]) == writer.MAX_WAITING + 1
    assert text.endswith("after\n")


def test_lines_waiting_are_written_together() -> None:
    from mockserver.console import _Writer

    entered, release = threading.Event(), threading.Event()
    writes: list[str] = []

    class Stuck(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            entered.set()
            release.wait(30)
            return super().write(text)

    out = Stuck()
    writer = _Writer(out)
    writer.put("line 0\n")
    assert entered.wait(30)
    wakes = 0
    wake = writer._wake.set

    def counted() -> None:
        nonlocal wakes
        wakes += 1
        wake()

    writer._wake.set = counted  # type: ignore[method-assign]
    for i in range(1, 101):
        writer.put(f"line {i}\n")
    assert wakes == 1  # the first line of a batch wakes the writer, not every line
    release.set()
    assert writer.join(30)
    # the hundred lines that waited while the first was written go out in one write
    assert writes == ["line 0\n", "".join(f"line {i}\n" for i in range(1, 101))]
    assert out.getvalue() == "".join(f"line {i}\n" for i in range(101))


def test_a_disagreement_ends_with_the_upstreams_reason_on_one_line() -> None:
    reason = '{"code": 400,\n  "message": "Invalid request parameters.",\r\n\t"detail": "' + "x" * 400 + '"}'
    base = {"id": 1, "time": "2025-01-17T05:39:22.000Z", "method": "POST", "path": "/v1/api/events"}
    entry = JournalEntry(
        **base,
        query={},
        headers={},
        raw=b"{}",
        status=202,
        proxied=True,
        upstream_status=400,
        upstream_body=reason,
    )
    line = format_line(entry)
    assert "\n" not in line and "\r" not in line and "\t" not in line
    assert line.split(" DISAGREE ")[1].startswith(
        '| upstream: {"code": 400, "message": "Invalid request parameters.", '
    )
    assert line.endswith("x…") and len(line.split("| upstream: ")[1]) == 160
    agreed = JournalEntry(
        **base,
        query={},
        headers={},
        raw=b"{}",
        status=400,
        proxied=True,
        upstream_status=400,
        upstream_body=reason,
    )
    assert "upstream:" not in format_line(agreed)  # the reason is for disagreements


def test_the_last_lines_are_written_when_the_process_exits() -> None:
    """At exit the writer's waiting lines still go out, and nothing fails: from Python 3.12 an
    exit handler may not start a thread."""
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from mockserver.console import _Writer\n"
        "writer = _Writer(sys.stdout)\n"
        "for i in range(50):\n"
        "    writer.put(f'line {i}\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [f"line {i}" for i in range(50)]


def test_a_stuck_console_is_given_its_grace_once_at_exit() -> None:
    """A process may run both atexit's handlers and multiprocessing's finalizers: a console
    nobody reads must not hold its stop twice."""

    from mockserver.console import _Writer

    release = threading.Event()

    class Stuck(io.StringIO):
        def write(self, text: str) -> int:
            release.wait(30)
            return super().write(text)

    writer = _Writer(Stuck())
    writer.EXIT_GRACE = 0.01
    waits: list[float] = []
    join = writer.join
    writer.join = lambda timeout: (waits.append(timeout), join(timeout))[1]  # type: ignore[method-assign]
    writer.put("line\n")
    writer._drain()
    writer._drain()
    release.set()
    assert waits == [0.01]


def test_a_lone_line_is_written_soon_and_a_burst_in_one_write() -> None:
    """A line is not written in the request's thread: under load a write per request cost more
    than the request. Alone, it still shows within the writer's delay."""
    import os

    from mockserver.console import _Writer

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as out, os.fdopen(read_end, "rb", buffering=0) as reader:
        writes: list[str] = []
        writers: set[str] = set()
        writer = _Writer(out)
        write = writer._write

        def recorded(text: str) -> None:
            writes.append(text)
            writers.add(threading.current_thread().name)
            write(text)

        writer._write = recorded  # type: ignore[method-assign]
        writer.put("line 0\n")
        assert reader.read(100) == b"line 0\n"
        assert writer.join(30)
        with writer._lock:  # held: the writer cannot take the lines until all are put
            for i in range(1, 51):
                writer._lines.append(f"line {i}\n")
                writer._unwritten += 1
            writer._wake.set()
        assert writer.join(30)
        assert writes == ["line 0\n", "".join(f"line {i}\n" for i in range(1, 51))]
        assert writers == {"marketap-console"}


def test_a_full_pipe_keeps_lines_waiting_in_their_order() -> None:
    import os

    from mockserver.console import _Writer

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    filled = 0
    try:
        while True:
            filled += os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    with os.fdopen(write_end, "w") as out, os.fdopen(read_end, "rb", buffering=0) as reader:
        writer = _Writer(out)
        done = threading.Event()

        def put_lines() -> None:
            for i in range(3):
                writer.put(f"line {i}\n")
            done.set()

        threading.Thread(target=put_lines, daemon=True).start()
        # the pipe is full: the lines wait, and putting them did not block
        assert done.wait(10)
        assert not writer.idle()
        got = b""
        while len(got) < filled + 21:
            got += reader.read(1 << 16)
        assert writer.join(30)
        writer.put("line 3\n")  # room again: written after the lines that waited
        got += reader.read(100)
        assert got == b"x" * filled + b"line 0\nline 1\nline 2\nline 3\n"


def _entry(index: int, raw: bytes = b"{}") -> JournalEntry:
    return journal_entry(index, raw, project_id=PROJECT, items=1)


def test_a_background_console_formats_entries_in_its_own_thread() -> None:
    """A server's console formats its lines in the writer's thread, a batch at a time, not in
    the request's turn; the lines are those the same entries give at once."""

    from mockserver.console import _Writer

    formatted_in: set[str] = set()

    def render(entry: JournalEntry) -> str:
        formatted_in.add(threading.current_thread().name)
        return format_line(entry) + "\n"

    out = io.StringIO()
    writer = _Writer(out, render)
    for i in range(20):
        writer.put(_entry(i))
    assert writer.join(30)
    assert formatted_in == {"marketap-console"}
    assert out.getvalue() == "".join(format_line(_entry(i)) + "\n" for i in range(20))

    backend, shown = Backend(), io.StringIO()
    backend.listen(console_listener("text", stream=shown, background=True))
    _send(backend)
    at_once = io.StringIO()
    for entry in backend.requests():
        console_listener("text", stream=at_once)(entry)
    deadline = time.monotonic() + 30
    while shown.getvalue().count("\n") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert shown.getvalue() == at_once.getvalue() and shown.getvalue().count("\n") == 3


def test_entries_waiting_hold_a_bounded_weight_of_bodies() -> None:
    """An entry holds its body until it is formatted: past the writer's byte bound, entries are
    formatted as they are put, so a console nobody reads holds lines, not bodies."""

    from mockserver.console import _Writer

    out = _Stuck()
    entered, release = out.entered, out.release
    writer = _Writer(out, lambda entry: f"line {entry.id}\n")
    writer.MAX_HELD_BYTES = 10_000
    writer.put(_entry(0))
    assert entered.wait(30)
    body = b'{"events": [' + b" " * 2_000 + b"]}"
    for i in range(1, 11):
        writer.put(_entry(i, body))
    held = [line for line in writer._lines if not isinstance(line, str)]
    assert len(held) == 4 and writer._held == 4 * len(body)  # the rest were formatted when put
    assert writer._lines[4:] == [f"line {i}\n" for i in range(5, 11)]
    release.set()
    assert writer.join(30)
    assert writer._held == 0
    assert out.getvalue() == "".join(f"line {i}\n" for i in range(11))


def test_an_entry_that_cannot_be_formatted_leaves_the_console_working() -> None:
    from mockserver.console import _Writer

    def render(entry: JournalEntry) -> str:
        if entry.id == 1:
            raise ValueError("a bug")
        return f"line {entry.id}\n"

    out = io.StringIO()
    writer = _Writer(out, render)
    for i in range(3):
        writer.put(_entry(i))
    assert writer.join(30)
    writer.put(_entry(3))
    assert writer.join(30)
    assert out.getvalue() == "line 0\n(request #1 could not be shown)\nline 2\nline 3\n"
