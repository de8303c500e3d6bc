"""Settings from MARKETAP_MOCK_* variables, and serve --load / --save."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import snapshot
from mockserver.cli import (
    _subparsers,
    apply_environment,
    build_parser,
    environment_variable,
    main,
    settings_from,
)
from tests.conftest import start_serve, stop_serve


def _parse(argv: list[str], environ: dict[str, str]) -> Any:
    parser = build_parser()
    apply_environment(_subparsers(parser)[argv[0]], environ)
    return parser.parse_args(argv)


@pytest.mark.parametrize("command", ["serve", "proxy"])
def test_help_names_a_variable_for_every_flag(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    subparser = _subparsers(build_parser())[command]
    names = [environment_variable(a) for a in subparser._actions if a.option_strings and a.dest != "help"]
    assert "MARKETAP_MOCK_ALLOW_HOST" in names and "MARKETAP_MOCK_MAX_STORED_BYTES" in names
    with pytest.raises(SystemExit):
        main([command, "--help"], environ={})
    text = " ".join(capsys.readouterr().out.split())
    for name in names:
        assert f"[env: {name}]" in text
    assert "a flag on the command line wins" in text


def test_every_kind_of_flag_comes_from_the_environment() -> None:
    ns = _parse(
        ["serve"],
        {
            "MARKETAP_MOCK_PORT": "9001",
            "MARKETAP_MOCK_HOST": "0.0.0.0",
            "MARKETAP_MOCK_QUIET": "yes",
            "MARKETAP_MOCK_SERVER": "werkzeug",
            "MARKETAP_MOCK_ALLOW_HOST": "fake, fake.internal",
            "MARKETAP_MOCK_API_KEY": "k1,k2",
            "MARKETAP_MOCK_PROJECT_ID": "p1,p2",
            "MARKETAP_MOCK_CONTROL_TOKEN": "ctl",
            "MARKETAP_MOCK_MAX_BATCH_ITEMS": "5",
            "MARKETAP_MOCK_ALLOW_NAIVE_TIMESTAMPS": "true",
            "MARKETAP_MOCK_CHECK_RESERVED_PROPERTIES": "off",
            "MARKETAP_MOCK_DELETION_JOBS": "manual",
            "MARKETAP_MOCK_FAIL_RATE": "0.5",
            "MARKETAP_MOCK_LOAD": "seed.json",
            "MARKETAP_MOCK_EMPTY": "",
        },
    )
    assert (ns.port, ns.host, ns.quiet, ns.server, ns.control_token) == (
        9001,
        "0.0.0.0",
        True,
        "werkzeug",
        "ctl",
    )
    assert (ns.fail_rate, ns.load) == (0.5, "seed.json")
    assert ns.env_allow_host == ["fake", "fake.internal"]
    settings = settings_from(ns)
    assert settings.api_keys == {"k1": ("p1", "p2"), "k2": ("p1", "p2")}
    assert settings.max_batch_items == 5 and settings.deletion_jobs == "manual"
    assert settings.allow_naive_timestamps and not settings.check_reserved_properties


def test_a_flag_beats_the_environment() -> None:
    environ = {
        "MARKETAP_MOCK_PORT": "9001",
        "MARKETAP_MOCK_ALLOW_HOST": "from-env",
        "MARKETAP_MOCK_API_KEY": "env-key",
        "MARKETAP_MOCK_QUIET": "1",
        "MARKETAP_MOCK_UPSTREAM": "https://env.example",
    }
    ns = _parse(
        ["serve", "--port", "8080", "--allow-host", "flag", "--api-key", "flag-key", "--no-any-project"],
        environ,
    )
    assert ns.port == 8080
    assert settings_from(ns).api_keys == {"flag-key": ("test-project",)}
    from mockserver.cli import _allowed_hosts

    assert _allowed_hosts(ns) == ("flag",)
    assert _allowed_hosts(_parse(["serve"], environ)) == ("from-env",)
    proxy = _parse(["proxy", "--upstream", "https://flag.example"], environ)
    assert proxy.upstream == "https://flag.example"
    assert _parse(["proxy"], environ).upstream == "https://env.example"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MARKETAP_MOCK_PORT", "eighty", "MARKETAP_MOCK_PORT must be a number, not 'eighty'"),
        ("MARKETAP_MOCK_QUIET", "maybe", "MARKETAP_MOCK_QUIET must be 1/0, true/false"),
        ("MARKETAP_MOCK_SERVER", "nginx", "MARKETAP_MOCK_SERVER must be one of granian, werkzeug"),
        (
            "MARKETAP_MOCK_MAX_BODY_BYTES",
            "lots",
            "MARKETAP_MOCK_MAX_BODY_BYTES: max_body_bytes must be a whole number",
        ),
        ("MARKETAP_MOCK_MAX_DEPTH", "1", "MARKETAP_MOCK_MAX_DEPTH: max_depth"),
    ],
)
def test_a_bad_variable_is_a_usage_error_naming_it(
    name: str, value: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve"], environ={name: value})
    assert exit_info.value.code == 2
    assert expected in capsys.readouterr().err


def test_an_unknown_variable_is_named_with_a_suggestion() -> None:
    from mockserver.cli import unknown_variables

    warnings = unknown_variables(
        build_parser(), {"MARKETAP_MOCK_PROT": "1", "MARKETAP_MOCK_SERVE": "{}", "HOME": "/"}
    )
    assert warnings == [
        "ignoring MARKETAP_MOCK_PROT: no flag of serve or proxy has that name (did you mean MARKETAP_MOCK_PORT?)"
    ]


def test_a_fake_configured_only_by_the_environment_answers_a_sibling_by_name(tmp_path: Path) -> None:
    """What a container gets from a CI services block: key, project, a service name, a token,
    and a state saved on SIGTERM, all from variables."""
    saved = tmp_path / "state.json"
    env = {
        "MARKETAP_MOCK_API_KEY": "sk-env-1234567",
        "MARKETAP_MOCK_PROJECT_ID": "p-env",
        "MARKETAP_MOCK_ALLOW_HOST": "marketap",
        "MARKETAP_MOCK_CONTROL_TOKEN": "ctl-env-secret",
        "MARKETAP_MOCK_SAVE": str(saved),
    }
    proc, url, lines = start_serve(env=env)
    try:
        port = url.rsplit(":", 1)[1]
        body = {"events": [{"name": "e", "user_id": "u"}]}
        auth = {"Authorization": "Bearer sk-env-1234567"}
        sibling = requests.post(
            f"{url}/v1/api/events?project_id=p-env",
            json=body,
            headers={**auth, "Host": f"marketap:{port}"},
            timeout=10,
        )
        assert sibling.status_code == 202, sibling.text
        stranger = requests.post(
            f"{url}/v1/api/events?project_id=p-env",
            json=body,
            headers={**auth, "Host": f"other:{port}"},
            timeout=10,
        )
        assert stranger.status_code == 403
        assert requests.get(f"{url}/_mock/state", timeout=10).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Saved the state" in out
    state = json.loads(saved.read_text())
    assert state["projects"]["p-env"]["events"] == body["events"]
    text = saved.read_text() + out + err + "".join(lines)
    assert "ctl-env-secret" not in text
    assert oct(saved.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_serve_loads_a_state_and_saves_it_on_ctrl_c(server: str, tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "format": snapshot.FORMAT,
                "version": snapshot.VERSION,
                "clock": {"now": "2030-01-01T00:00:00.000Z", "frozen": True},
                "projects": {"test-project": {"profiles": {"u-1": {"tier": "gold"}}}},
            }
        )
    )
    out_file = tmp_path / "out.json"
    proc, url, _lines = start_serve("--server", server, "--load", str(seed), "--save", str(out_file))
    try:
        assert requests.get(f"{url}/_mock/profiles", timeout=10).json()["profiles"] == {
            "u-1": {"tier": "gold"}
        }
        assert requests.get(f"{url}/_mock/clock", timeout=10).json()["now"] == "2030-01-01T00:00:00.000Z"
        requests.post(
            f"{url}/v1/api/profile/user?project_id=test-project",
            json={"profiles": [{"user_id": "u-2"}]},
            headers={"Authorization": "Bearer test-api-key"},
            timeout=10,
        )
    finally:
        _out, err = stop_serve(proc)
    assert proc.returncode == 0, err
    saved = json.loads(out_file.read_text())
    assert saved["projects"]["test-project"]["profiles"] == {"u-1": {"tier": "gold"}, "u-2": {}}
    assert saved["clock"] == {"now": "2030-01-01T00:00:00.000Z", "frozen": True}


def test_a_bad_state_file_stops_serve_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"format": snapshot.FORMAT, "version": 1, "projects": {"p": {"events": [{"name": ""}]}}})
    )
    assert main(["serve", "--port", "0", "--load", str(bad)], environ={}) == 2
    assert "projects.p.events[0].name" in capsys.readouterr().err
    assert main(["serve", "--port", "0", "--load", str(tmp_path / "missing.json")], environ={}) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_save_that_fails_leaves_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    snapshot.write(str(path), {"format": snapshot.FORMAT})
    with pytest.raises(TypeError):
        snapshot.write(str(path), {"format": snapshot.FORMAT, "broken": object()})
    assert json.loads(path.read_text()) == {"format": snapshot.FORMAT}
    assert os.listdir(tmp_path) == ["state.json"]
