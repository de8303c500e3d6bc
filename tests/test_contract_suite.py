"""The contract suite itself: it passes against the fake, and it catches a wrong one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from mockserver import LiveServer
from tests.conftest import serving

QUICK = ["--", "-k", "not generated", "-p", "no:randomly"]


def run_contract(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "contract", "--report", str(report), *args],
        capture_output=True,
        text=True,
        # the whole suite: about a thousand requests, slow on a loaded machine
        timeout=1800,
    )
    records = json.loads(report.read_text())["records"] if report.exists() else []
    return done, records


def accept_everything(environ: dict[str, Any], start_response: Any) -> Any:
    Request(environ).get_data()
    return Response(status=202)(environ, start_response)


def reject_everything(environ: dict[str, Any], start_response: Any) -> Any:
    Request(environ).get_data()
    body = json.dumps({"code": 400, "message": "Invalid request parameters.", "data": None, "errors": []})
    return Response(body, status=400, content_type="application/json")(environ, start_response)


def test_passes_against_a_fake_started_by_hand(tmp_path: Path) -> None:
    with serving("--api-key", "hand-key", "--project-id", "hand") as (url, _proc):
        done, records = run_contract(tmp_path, "--url", url, "--api-key", "hand-key", "--project-id", "hand")
    assert done.returncode == 0, done.stdout[-3000:]
    assert records and all(r["verdict"] == "pass" for r in records)
    assert {r["evidence"] for r in records} == {"CONFIRMED", "INFERRED", "CHOSEN"}
    # the table: a header, and a count line
    assert "case" in done.stdout and "verdict" in done.stdout
    assert f"{len(records)} checks: {len(records)} pass, 0 fail" in done.stdout


@pytest.mark.parametrize("app", [accept_everything, reject_everything], ids=["accepts-all", "rejects-all"])
def test_catches_a_fake_that_is_wrong(tmp_path: Path, app: Any) -> None:
    with LiveServer(app=app) as server:
        done, records = run_contract(tmp_path, "--url", server.url, *QUICK)
    assert done.returncode == 1
    failed = [r for r in records if r["verdict"] == "fail"]
    assert len(failed) >= 40, f"only {len(failed)} of {len(records)} checks failed"
    # no control plane there: the fake-only checks are skipped, and say why
    assert "fake only" in done.stdout or "skipped" in done.stdout


def test_deletion_needs_permission_on_a_server_without_control_plane(tmp_path: Path) -> None:
    with LiveServer(app=accept_everything) as server:
        done, records = run_contract(tmp_path, "--url", server.url, "--", "-k", "deletion", "-rs")
    assert "pass --marketap-allow-deletion" in done.stdout
    with LiveServer(app=accept_everything) as server:
        done, records = run_contract(
            tmp_path, "--url", server.url, "--allow-deletion", "--", "-k", "deletion_requests_are_202"
        )
    assert [r["case"] for r in records] == ["request one user's deletion", "request bulk deletion"]


def test_the_suite_only_creates_its_own_ids() -> None:
    from contract_tests.bodies import PREFIX, VALID, own

    def ids(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [v for k, v in value.items() if k in ("user_id", "device_id") and isinstance(v, str)]
            found += [u for u in value.get("user_ids", []) if isinstance(u, str)]
            return found + [i for v in value.values() for i in ids(v)]
        return [i for v in value for i in ids(v)] if isinstance(value, list) else []

    for body in VALID.values():
        assert all(PREFIX in i for i in ids(body))
    assert sorted(ids(own({"events": [{"user_id": "u"}], "user_ids": ["a", ""]}))) == [
        "",
        "contract-test-a",
        "contract-test-u",
    ]


def test_the_command_runs_its_own_suite_whatever_the_folder_holds(tmp_path: Path) -> None:
    """A project with a `contract_tests` package of its own does not shadow the shipped suite."""
    own = tmp_path / "contract_tests"
    own.mkdir()
    (own / "__init__.py").write_text("")
    (own / "test_mine.py").write_text("def test_mine():\n    raise AssertionError('the wrong suite ran')\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver",
            "contract",
            "--",
            "-k",
            "envelope",
            "-W",
            "error::pytest.PytestAssertRewriteWarning",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "the wrong suite ran" not in done.stdout
    assert " pass, 0 fail" in done.stdout
