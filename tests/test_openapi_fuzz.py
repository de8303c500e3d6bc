"""The served OpenAPI document is the truth: an independent fuzzer (schemathesis, all of its
checks, valid and invalid data) finds no request the document allows that the fake refuses,
none it forbids that the fake accepts, and no answer the document does not describe.

Run as a user would: ``st run`` against a live fake, on every operation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver import Backend, LiveServer

pytestmark = pytest.mark.slow

SETTINGS = {
    # any_project: generated project ids reach the body checks instead of stopping at a 401
    "defaults": ({"any_project": True}, 150),
    "relaxed": (
        {
            "any_project": True,
            "timestamp_format": "iso8601",
            "allow_naive_timestamps": True,
            "allow_empty_batches": True,
            "reject_unknown_reserved": True,
        },
        40,
    ),
    "unchecked and small": (
        {
            "any_project": True,
            "check_reserved_properties": False,
            "reject_control_characters": False,
            "require_event_user_id": False,
            "max_string_length": 20,
            "max_properties": 3,
            "max_depth": 16,  # JSON Schema cannot bound nesting: the document says it in words
        },
        40,
    ),
}


def _st() -> str:
    """schemathesis's command: beside this Python, else on PATH (it needs a newer pytest and
    Hypothesis than the package's floor, so a venv of the floors keeps it in one of its own)."""
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert found, "schemathesis is a test extra: pip install -e '.[test]'"
    return found


@pytest.mark.parametrize("profile", SETTINGS)
def test_schemathesis_finds_no_disagreement(profile: str, tmp_path: Path) -> None:
    settings, examples = SETTINGS[profile]
    with LiveServer(Backend(settings)) as fake:
        run = subprocess.run(
            [
                _st(),
                "run",
                f"{fake.url}/_mock/openapi.json",
                "--url",
                fake.url,
                "--checks",
                "all",
                "--mode",
                "all",
                "--max-examples",
                str(examples),
                "--seed",
                "20261129",
                "--generation-database",
                "none",
                "--continue-on-failure",
                # How fast examples are generated measures the machine, not the fake: on a loaded
                # machine this health check fails runs that found nothing.
                "--suppress-health-check",
                "too_slow",
                "--no-color",
                "--header",
                "Authorization: Bearer test-api-key",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=600,
        )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "No issues found" in run.stdout, report  # nor a warning (say, every request a 401)
