"""The Django example project's own tests, run as its users run them: ``python manage.py test``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent / "django_shop"


@pytest.mark.slow
def test_the_django_shop_passes_under_djangos_runner() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETAP_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "shop", "-v", "2"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ran 3 tests" in done.stderr and "\nOK" in done.stderr, done.stderr
