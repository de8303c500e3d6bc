"""``marketap-mock`` on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from mockserver.cli import build_parser, credentials_from, main, settings_from
from tests.conftest import start_serve, stop_serve


def test_credentials_pair_by_order() -> None:
    pairs = [
        ("api_key", "k1"),
        ("project_id", "p1"),
        ("project_id", "p2"),
        ("api_key", "k2"),
        ("project_id", "p3"),
    ]
    assert credentials_from(pairs) == {"k1": ("p1", "p2"), "k2": ("p3",)}
    assert credentials_from([]) == {"test-api-key": ("test-project",)}
    assert credentials_from([("project_id", "p")]) == {"test-api-key": ("p",)}
    assert credentials_from([("api_key", "k")]) == {"k": ("test-project",)}
    assert credentials_from([("project_id", "p"), ("api_key", "k"), ("api_key", "j")]) == {
        "k": ("p",),
        "j": ("test-project",),
    }


def test_every_setting_has_a_flag() -> None:
    ns = build_parser().parse_args(
        [
            "serve",
            "--allow-naive-timestamps",
            "--no-check-reserved-properties",
            "--max-batch-items",
            "5",
            "--deletion-jobs",
            "manual",
            "--deletion-job-delay",
            "2.5",
            "--api-key",
            "k",
            "--project-id",
            "p",
        ]
    )
    settings = settings_from(ns)
    assert settings.allow_naive_timestamps and not settings.check_reserved_properties
    assert (settings.max_batch_items, settings.deletion_jobs, settings.deletion_job_delay) == (
        5,
        "manual",
        2.5,
    )
    assert settings.api_keys == {"k": ("p",)}


def test_bad_setting_values_exit_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--max-batch-items", "lots"])
    assert exit_info.value.code == 2
    assert "max_batch_items must be a whole number" in capsys.readouterr().err


def test_help_explains_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    for flag in (
        "--host",
        "--port",
        "--api-key",
        "--project-id",
        "--control-token",
        "--allow-empty-batches",
        "--max-body-bytes",
        "--deletion-jobs",
        "--journal-max-entries",
    ):
        assert flag in text


def test_openapi_command_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    assert '"/v1/api/events"' in capsys.readouterr().out


def test_serve_prints_url_credentials_and_curl_then_stops_on_ctrl_c() -> None:
    proc, url, lines = start_serve("--api-key", "k-123456789", "--project-id", "p1")
    try:
        text = "".join(lines)
        assert "p1" in text and "curl" in text
        # A key of the user's own is a credential: the banner names it masked, the curl
        # command with a placeholder.
        assert "k-123456789" not in text and "API key '****' for project(s): p1" in text
        assert "Bearer YOUR_API_KEY" in text
        assert not url.endswith(":0")
        r = requests.post(
            f"{url}/v1/api/events?project_id=p1",
            json={"events": [{"name": "e", "user_id": "u"}]},
            headers={"Authorization": "Bearer k-123456789"},
            timeout=5,
        )
        assert r.status_code == 202
    finally:
        out, err = stop_serve(proc)
    assert proc.returncode == 0
    assert "Stopped." in out
    assert "Traceback" not in err


def test_binding_elsewhere_warns() -> None:
    # the warning comes from the command line, whatever the server: werkzeug starts fastest
    proc, _url, lines = start_serve("--host", "0.0.0.0", "--server", "werkzeug")
    stop_serve(proc)
    quiet, _url, quiet_lines = start_serve("--host", "127.0.0.2", "--server", "werkzeug")
    stop_serve(quiet)
    assert not any("WARNING" in line for line in quiet_lines)
    assert any("WARNING" in line and "--control-token" in line for line in lines)


def test_port_in_use_is_a_clear_error() -> None:
    from mockserver import LiveServer

    with LiveServer() as server:
        done = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(server.port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert done.returncode == 2
    assert "cannot bind" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_ctrl_c_right_after_start_stops_it(server: str) -> None:
    proc, _url, _lines = start_serve("--server", server)
    out, _err = stop_serve(proc)  # at once: no grace period after the banner
    assert proc.returncode == 0 and "Stopped." in out


def test_granian_does_not_outlive_a_killed_command() -> None:
    proc, url, _lines = start_serve()
    proc.kill()  # no chance to stop its child politely
    try:
        proc.communicate(timeout=30)  # EOF on the pipes once granian, which shares them, is gone
    except subprocess.TimeoutExpired:
        pytest.fail("granian outlived the killed command (it still holds the output pipes)")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/_mock/health", timeout=1)
        except requests.ConnectionError:
            return  # the port is free again
        time.sleep(0.2)
    pytest.fail(f"a server still answers at {url} after its command was killed")


def test_serve_names_its_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop where installed, else asyncio's: never granian's "auto", which takes whatever
    loop happens to be installed."""
    import importlib.util
    import sys

    from mockserver.granian_server import event_loop

    expected = "asyncio" if sys.platform == "win32" else "uvloop"  # a dependency elsewhere
    assert event_loop() == expected
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a)
    )
    assert event_loop() == "asyncio"


def test_the_served_app_freezes_what_it_starts_with() -> None:
    """granian's worker builds the app, then freezes what exists: the collector's full passes
    then walk only what requests made, not the libraries and the app. In a process of its own,
    as a frozen heap stays frozen."""
    script = """
import gc, json, os
from mockserver.granian_server import _ENVIRONMENT_VARIABLE, _environment_value, app_from_environment
from mockserver.settings import Settings
os.environ[_ENVIRONMENT_VARIABLE] = _environment_value(Settings(), [], None)
before = gc.get_freeze_count()
app_from_environment()
print(json.dumps([before, gc.get_freeze_count()]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout)
    # Python 3.12 freezes a few hundred objects of its own at start
    assert after - before > 10_000  # the libraries and the app, not a handful
