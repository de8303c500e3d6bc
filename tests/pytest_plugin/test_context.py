"""``mock_marketap`` outside pytest fixtures: the whole lifecycle of a decorated ``TestCase``
(under pytest, unittest and Django's runner), credentials that match, and tracebacks that stop
at the test's own frame."""

from __future__ import annotations

import sys

import pytest
import requests

from mockserver.errors import ToolkitError
from pytest_plugin import mock_marketap

URL = "https://event.marketap.io/v1/api/events"

#: a unittest TestCase that sends from every step of its lifecycle with the app's own key and
#: project, and checks at each step that the fake in force is the one it expects
LIFECYCLE = """
import unittest
import requests
from pytest_plugin import mock_marketap

URL = "https://event.marketap.io/v1/api/events?project_id=kshop"
H = {"Authorization": "Bearer sk-kshop"}

def send(name):
    answer = requests.post(URL, json={"events": [{"name": name, "user_id": "u-1"}]}, headers=H, timeout=5)
    assert answer.status_code == 202, answer.text

def names(fake):
    return [e["name"] for e in fake.events]

@mock_marketap(api_key="sk-kshop", project_id="kshop")
class SignUpTest(BASE):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        send("class_set_up")

    SET_UP_TEST_DATA

    def setUp(self):
        send("set_up")

    def test_sign_up(self):
        send("sign_up")
        self.assertEqual(names(self.marketap), ["set_up", "sign_up"])  # a fresh fake per test
        self.marketap.assert_event_sent("sign_up", user_id="u-1")

    def test_starts_clean(self):
        self.assertEqual(names(self.marketap), ["set_up"])

    def test_fails_at_its_own_line(self):
        self.marketap.assert_event_sent("never_sent")

    def tearDown(self):
        send("tear_down")
        self.assertEqual(names(self.marketap)[-1], "tear_down")

    @classmethod
    def tearDownClass(cls):
        send("class_tear_down")
        assert names(cls.marketap) == [CLASS_EVENTS, "class_tear_down"], names(cls.marketap)
        super().tearDownClass()
"""


def _lifecycle(base: str, set_up_test_data: bool = False) -> str:
    data = (
        '@classmethod\n    def setUpTestData(cls):\n        send("set_up_test_data")\n'
        if set_up_test_data
        else ""
    )
    # with Django, setUpTestData runs inside setUpClass, before the class's own send
    events = '"set_up_test_data", "class_set_up"' if set_up_test_data else '"class_set_up"'
    return LIFECYCLE.replace("BASE", base).replace("SET_UP_TEST_DATA", data).replace("CLASS_EVENTS", events)


def test_a_test_case_is_covered_from_class_set_up_to_class_tear_down(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_signup=_lifecycle("unittest.TestCase"))
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*expected event 'never_sent' to be sent at least once*"])


def test_under_unittests_runner_the_traceback_ends_at_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_signup=_lifecycle("unittest.TestCase"))
    result = pytester.run(sys.executable, "-m", "unittest", "test_signup")
    output = result.stderr.str()
    assert "Ran 3 tests" in output and "FAILED (failures=1)" in output, output
    assert 'test_signup.py", line' in output and "self.marketap.assert_event_sent" in output
    for module in ("pytest_plugin/handle.py", "pytest_plugin/context.py", "pytest_plugin/assertions.py"):
        assert module not in output, output


DJANGO_RUNNER = """
import sys
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=[],
)
django.setup()

from django.test.runner import DiscoverRunner

sys.exit(DiscoverRunner(verbosity=1).run_tests(["test_signup"]))
"""


def test_a_django_test_case_under_djangos_runner(pytester: pytest.Pytester) -> None:
    """setUpTestData runs inside setUpClass, in the class's fake; every step's request stays in
    the process (the guard would turn one that left into a ConnectionError); the one failure's
    traceback ends at the test's own line."""
    pytester.makepyfile(
        test_signup="from django.test import TestCase\n" + _lifecycle("TestCase", set_up_test_data=True),
        run="" + DJANGO_RUNNER,
    )
    result = pytester.run(sys.executable, "run.py")
    output = result.stderr.str()
    assert result.ret == 1, output  # the number of failures
    assert "Ran 3 tests" in output and "FAILED (failures=1)" in output, output
    assert "ERROR" not in output, output
    assert "self.marketap.assert_event_sent" in output
    for module in ("pytest_plugin/handle.py", "pytest_plugin/context.py", "pytest_plugin/assertions.py"):
        assert module not in output, output


def test_an_async_test_case_is_covered_in_async_set_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import unittest
        import httpx
        from pytest_plugin import mock_marketap

        URL = "https://event.marketap.io/v1/api/events?project_id=test-project"
        H = {"Authorization": "Bearer test-api-key"}

        @mock_marketap()
        class AsyncTest(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self):
                async with httpx.AsyncClient() as client:
                    answer = await client.post(URL, json={"events": [{"name": "a", "user_id": "u"}]}, headers=H)
                self.assertEqual(answer.status_code, 202)

            async def test_it(self):
                self.marketap.assert_event_sent("a", count=1)
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


# --- credentials ---------------------------------------------------------------------------------


def test_the_handle_carries_the_credentials_the_fake_accepts() -> None:
    with mock_marketap(api_key="sk-kshop", project_id="kshop") as marketap:
        assert (marketap.api_key, marketap.project_id) == ("sk-kshop", "kshop")
        body = {"events": [{"name": "e", "user_id": "u"}]}
        assert (
            requests.post(marketap.url_for("/v1/api/events"), json=body, headers=marketap.headers).status_code
            == 202
        )
        marketap.assert_event_sent("e")
        default = {"Authorization": "Bearer test-api-key"}
        assert requests.post(f"{URL}?project_id=test-project", json=body, headers=default).status_code == 401


def test_api_keys_give_the_handle_their_first_pair() -> None:
    with mock_marketap(api_keys={"sk-kshop": ["kshop", "kshop-eu"], "sk-other": "other"}) as marketap:
        assert (marketap.api_key, marketap.project_id) == ("sk-kshop", "kshop")
        assert (
            requests.post(
                marketap.url_for("/v1/api/events"),
                json={"events": [{"name": "e", "user_id": "u"}]},
                headers=marketap.headers,
            ).status_code
            == 202
        )
        assert len(marketap.events) == 1


def test_the_environment_names_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETAP_API_KEY", "sk-from-env")
    monkeypatch.setenv("MARKETAP_PROJECT_ID", "env-project")
    with mock_marketap() as marketap:
        assert (marketap.api_key, marketap.project_id) == ("sk-from-env", "env-project")
        answer = requests.post(
            f"{URL}?project_id=env-project",
            json={"events": [{"name": "e", "user_id": "u"}]},
            headers={"Authorization": "Bearer sk-from-env"},
        )
        assert answer.status_code == 202


def test_bad_credentials_are_refused_where_the_decorator_is_written() -> None:
    with pytest.raises(ToolkitError, match="api_keys must be a non-empty object"):
        mock_marketap(api_keys={})


def test_a_miss_names_the_project_that_holds_the_data() -> None:
    with mock_marketap(api_keys={"sk-kshop": ["kshop", "kshop-eu"]}) as marketap:
        headers = {"Authorization": "Bearer sk-kshop"}
        requests.post(
            "https://event.marketap.io/v1/api/profile/user?project_id=kshop-eu",
            json={"profiles": [{"user_id": "u-1", "properties": {"tier": "gold"}}]},
            headers=headers,
        ).raise_for_status()
        requests.post(
            f"{URL}?project_id=kshop-eu",
            json={"events": [{"name": "signup", "user_id": "u-1"}]},
            headers=headers,
        ).raise_for_status()
        with pytest.raises(AssertionError) as profile_miss:
            marketap.assert_profile("u-1")
        with pytest.raises(AssertionError) as event_miss:
            marketap.assert_event_sent("signup")
    for miss in (profile_miss, event_miss):
        assert "Project 'kshop-eu' holds it" in str(miss.value)
        assert "this handle reads project 'kshop'" in str(miss.value)
