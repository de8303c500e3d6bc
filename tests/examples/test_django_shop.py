"""The Django example project's own tests, run as its users run them: ``python manage.py test``
with Django's runner, and ``pytest`` with pytest-django."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mockserver.test_secrets import assert_hidden

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


#: tests a user might write next to shop/test_signup.py that fail, for the messages they get
MISSES = """
from shop.test_signup import post_sign_up


def test_another_user(rf, marketap_inprocess):
    post_sign_up(rf, "u-1")
    marketap_inprocess.assert_event_sent("mkt_sign_up", user_id="u-2")


def test_another_project(rf, marketap_inprocess, settings):
    settings.MARKETAP_PROJECT_ID = "staging"
    assert post_sign_up(rf, "u-1")["reported"] is False
    marketap_inprocess.assert_event_sent("mkt_sign_up", user_id="u-1")
"""


@pytest.fixture
def django_shop(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A copy of the project, its settings named by DJANGO_SETTINGS_MODULE as pytest-django reads
    them, and none of the outer run's MARKETAP_ variables."""
    shutil.copytree(PROJECT, pytester.path, dirs_exist_ok=True)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings")
    for name in [name for name in os.environ if name.startswith("MARKETAP_")]:
        monkeypatch.delenv(name)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # pytest-django loads from its entry point, as in a user's project; its report header says
    # it configured Django from the environment's settings.
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", *args)
    result.stdout.fnmatch_lines(["django: version: *, settings: shop.settings (from env)"])
    return result


@pytest.mark.slow
def test_the_django_shop_passes_under_pytest_django(django_shop: pytest.Pytester) -> None:
    """shop/test_signup.py: a 2xx, a 429 waited out and a dropped connection and a read timeout
    retried by the view's own urllib3 Retry, and an outage it gives up on."""
    _run(django_shop, "shop/test_signup.py").assert_outcomes(passed=5)


@pytest.mark.slow
def test_a_miss_under_pytest_django_is_explained(django_shop: pytest.Pytester) -> None:
    django_shop.makepyfile(**{"shop/test_misses": MISSES})
    result = _run(django_shop, "shop/test_misses.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: marketap: expected event 'mkt_sign_up' (user_id='u-2') to be sent *",
            "E         events[0] 'mkt_sign_up' user_id='u-1': user_id is 'u-1', expected 'u-2'",
            "E       AssertionError: marketap: expected event 'mkt_sign_up' (user_id='u-1') to be sent *",
            "E         #1 POST /v1/api/events -> 401: Authorization: API key * is not valid for project 'staging'",
        ]
    )


@pytest.mark.slow
def test_the_shops_key_is_never_shown(django_shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shop's own key, from the environment, through a pass, a refusal and a miss: no run of
    it is in what pytest prints, however verbose."""
    secret = "sk_live_Zq81mXv0Lr7PwE2n"
    monkeypatch.setenv("MARKETAP_API_KEY", secret)
    django_shop.makepyfile(**{"shop/test_misses": MISSES})
    result = _run(django_shop, "-vv", "-l", "-rA", "shop/")
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(["*API key sk_l**** is not valid for project 'staging'"])
    assert_hidden("\n".join(result.outlines + result.errlines), secret)
