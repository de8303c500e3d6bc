"""The assertion helpers' exact failure text, with and without assertion rewriting."""

from __future__ import annotations

import pytest

from pytest_plugin.assertions import same

SETUP = """
import requests
import pytest

def send(m, path, body):
    return requests.post(m.url_for(path), json=body, headers=m.headers)
"""

CASES = {
    "event_missing_with_near_miss_and_rejection": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/events", {"events": [
                {"name": "mkt_purchase", "user_id": "u-1", "properties": {"mkt_revenue": 3900.0}},
                {"name": "mkt_login", "user_id": "u-1"}]})
            send(marketap, "/v1/api/events", {"events": [
                {"name": "mkt_purchase", "user_id": "u-1", "timestamp": "2025-01-17 05:39:22"}]})
            marketap.assert_event_sent("mkt_purchase", user_id="u-1", mkt_revenue=39000.0)
        """,
        [
            "E   AssertionError: marketap: expected event 'mkt_purchase' (user_id='u-1', properties.mkt_revenue=39000.0)"
            " to be sent at least once; it was not.",
            "E   Accepted events in project 'test-project': 2.",
            "E   Closest:",
            "E     events[0] 'mkt_purchase' user_id='u-1': properties.mkt_revenue is 3900.0, expected 39000.0",
            "E     events[1] 'mkt_login' user_id='u-1': name is 'mkt_login', expected 'mkt_purchase';"
            " properties.mkt_revenue is missing, expected 39000.0",
            "E   Rejected requests that carried an event 'mkt_purchase':",
            "E     #2 POST /v1/api/events -> 400: events[0].timestamp: a space separates the date and the time"
            " (as Python's str(datetime) prints); RFC 3339 (ISO 8601 extended form with a time zone, such as"
            " 2025-01-17T05:39:22Z) requires 'T': use datetime.isoformat()",
        ],
    ),
    "event_pending": (
        """
        def test_it(marketap):
            marketap.configure(processing_delay=30)
            send(marketap, "/v1/api/events", {"events": [{"name": "e", "user_id": "u"}, {"name": "f", "user_id": "u"}]})
            assert [(p["kind"], p["items"]) for p in marketap.pending] == [("events", 2)]
            marketap.assert_event_sent("e")
        """,
        [
            "E   AssertionError: marketap: expected event 'e' to be sent at least once; it was not.",
            "E   Accepted events in project 'test-project': 0.",
            "E   Accepted but not yet processed (setting processing_delay): 2 events in 1 request, the first"
            " due at *; the vendor processes them asynchronously. Advance the fake's clock"
            " (marketap.advance(seconds)) to see them processed.",
        ],
    ),
    "profile_pending": (
        """
        def test_it(marketap):
            marketap.configure(processing_delay=5)
            send(marketap, "/v1/api/profile/user", {"profiles": [{"user_id": "u", "properties": {"a": 1}}]})
            marketap.advance(4.9)
            marketap.assert_profile("u", a=1)
        """,
        [
            "E   Accepted but not yet processed (setting processing_delay): 1 profile in 1 request, the first"
            " due at *; the vendor processes them asynchronously. Advance the fake's clock"
            " (marketap.advance(seconds)) to see them processed.",
        ],
    ),
    "event_count": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/events", {"events": [{"name": "e", "user_id": "u"}, {"name": "e", "user_id": "v"}]})
            marketap.assert_event_sent("e", count=1)
        """,
        [
            "E   AssertionError: marketap: expected event 'e' to be sent 1 time; it was sent 2 times.",
            "E   Accepted events in project 'test-project': 2.",
            "E   Matching events:",
            "E     events[0] 'e' user_id='u'",
            "E     events[1] 'e' user_id='v'",
        ],
    ),
    "event_count_of_identical_events": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/events", {"events": [{"name": "e", "user_id": "u"}, {"name": "e", "user_id": "u"}]})
            marketap.assert_event_sent("e", count=1)
        """,
        [
            "E   Matching events:",
            "E     events[0] 'e' user_id='u'",
            "E     events[1] 'e' user_id='u'",
        ],
    ),
    "consent_flag_as_string_is_not_true": (
        """
        @pytest.mark.marketap(check_reserved_properties=False)
        def test_it(marketap):
            send(marketap, "/v1/api/profile/user", {"profiles": [
                {"user_id": "u", "properties": {"mkt_kakao_opt_in": "true", "mkt_name": "홍길동"}}]})
            marketap.assert_profile("u", mkt_kakao_opt_in=True, mkt_email="a@b.c")
        """,
        [
            "E   AssertionError: marketap: profile 'u' in project 'test-project' differs: mkt_kakao_opt_in is 'true',"
            " expected True; mkt_email is missing, expected 'a@b.c'.",
            "E   Stored properties: {'mkt_kakao_opt_in': 'true', 'mkt_name': '홍길동'}",
        ],
    ),
    "profile_missing_and_rejected": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/profile/user", {"profiles": [{"user_id": "u-1"}]})
            send(marketap, "/v1/api/profile/user", {"profiles": [
                {"user_id": "u-2", "properties": {"mkt_birth": "1990-5-1"}}]})
            marketap.assert_profile("u-2")
        """,
        [
            "E   AssertionError: marketap: no profile for user 'u-2' in project 'test-project'. Profiles: 'u-1'.",
            "E   Rejected requests that carried a profile for 'u-2':",
            "E     #2 POST /v1/api/profile/user -> 400: profiles[0].properties.mkt_birth: not a date in the form YYYY-MM-DD",
        ],
    ),
    "profile_deleted": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/profile/user", {"profiles": [{"user_id": "u-1"}]})
            send(marketap, "/v1/api/profile/user/deletion-job", {"user_id": "u-1"})
            marketap.assert_profile("u-1")
        """,
        [
            "E   AssertionError: marketap: no profile for user 'u-1' in project 'test-project'. Profiles: none.",
            "E   User 'u-1' was deleted by deletion job job-000001.",
        ],
    ),
    "deletion_not_requested": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/profile/user/deletion-job/bulk", {"user_ids": ["u-1"]})
            send(marketap, "/v1/api/profile/user/deletion-job", {"user_id": 7})
            send(marketap, "/v1/api/profile/user/deletion-job/bulk", {"user_ids": [["u-2"]]})
            send(marketap, "/v1/api/profile/user/deletion-job/bulk", {"user_ids": ["u-2", 5]})
            marketap.assert_deletion_requested("u-1", "u-2")
        """,
        [
            "E   AssertionError: marketap: expected deletion to be requested for 'u-2' in project 'test-project';"
            " it was not.",
            "E   Deletion jobs:",
            "E     job-000001 completed: ['u-1']",
            "E   Rejected requests that asked to delete them:",
            "E     #4 POST /v1/api/profile/user/deletion-job/bulk -> 400: see its errors",
        ],
    ),
    "no_rejected_requests": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/events", {"events": [{"name": "ok", "user_id": "u"}]})
            send(marketap, "/v1/api/events", {"events": [{"user_id": "u"}, {"name": "e", "user_id": 5}]})
            requests.post(marketap.url_for("/v1/api/events"), json={"events": []})
            marketap.assert_no_rejected_requests()
        """,
        [
            "E   AssertionError: marketap: 2 requests rejected:",
            "E     #2 POST /v1/api/events -> 400",
            "E         events[0].name: required",
            "E         events[1].user_id: must be a string",
            "E     #3 POST /v1/api/events -> 401",
            "E         Authorization: required: send 'Authorization: Bearer <api_key>'",
        ],
    ),
    "no_warnings": (
        """
        def test_it(marketap):
            send(marketap, "/v1/api/events", {"events": [{"name": "ok", "user_id": "u"}]})
            send(marketap, "/v1/api/events", {"events": [
                {"name": "mkt_purchase", "user_id": "u", "properties": {"mkt_items": [{"mkt_qty": 1}]}}]})
            send(marketap, "/v1/api/profile/user", {"profiles": [{"user_id": "u", "colour": "red"}]})
            marketap.assert_no_warnings()
        """,
        [
            "E   AssertionError: marketap: 2 warnings on accepted or rejected requests:",
            "E     #2 POST /v1/api/events -> 202",
            "E         events[0].properties.mkt_items[0].mkt_qty: unknown reserved key (did you mean mkt_quantity?)",
            "E     #3 POST /v1/api/profile/user -> 202",
            "E         profiles[0].colour: unknown field ignored",
        ],
    ),
}


@pytest.mark.parametrize("assert_mode", ["rewrite", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_failure_text(pytester: pytest.Pytester, case: str, assert_mode: str) -> None:
    body, lines = CASES[case]
    import textwrap

    pytester.makepyfile(SETUP + textwrap.dedent(body))
    result = pytester.runpytest(f"--assert={assert_mode}")
    result.assert_outcomes(failed=1)
    # pytest prints each message line after "E" and seven spaces
    expected = ["E       " + line[4:].replace("[", "[[]") for line in lines]
    result.stdout.fnmatch_lines(expected, consecutive=True)
    # the helper hides its own frames: the traceback ends at the user's line
    assert "handle.py" not in result.stdout.str()


def test_passing_helpers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SETUP
        + """
def test_it(marketap):
    send(marketap, "/v1/api/events", {"events": [{"name": "e", "user_id": "u", "properties": {"n": 1, "f": True}}]})
    send(marketap, "/v1/api/profile/user", {"profiles": [{"user_id": "u", "properties": {"mkt_name": "x", "z": 1}}]})
    send(marketap, "/v1/api/profile/user/deletion-job/bulk", {"user_ids": ["a", "b"]})
    marketap.configure(processing_delay=10)
    send(marketap, "/v1/api/events", {"events": [{"name": "late", "user_id": "u"}]})
    marketap.advance(10)
    assert marketap.pending == []
    marketap.assert_event_sent("late")
    marketap.assert_event_sent("e")
    marketap.assert_event_sent("e", user_id="u", count=1, n=1, f=True)
    marketap.assert_profile("u", mkt_name="x")
    marketap.assert_deletion_requested("a", "b")
    marketap.assert_no_rejected_requests()
    marketap.assert_no_warnings()
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("actual", "expected", "result"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (1, True, False),
        ("false", False, False),
        ({"a": [1, {"b": True}]}, {"a": [1, {"b": True}]}, True),
        ({"a": [1, {"b": 1}]}, {"a": [1, {"b": True}]}, False),
        ([1, 2], (1, 2), True),
        (None, None, True),
    ],
)
def test_same_is_strict_about_booleans(actual: object, expected: object, result: bool) -> None:
    assert same(actual, expected) is result


KEY_AS_DATA = """
def test_it({fixture}):
    m = {fixture}
    key = m.api_key
    send(m, "/v1/api/events", {{"events": [
        {{"name": "login", "user_id": key, "properties": {{"note": "sent " + key, key: [key]}}}}]}})
    send(m, "/v1/api/profile/user", {{"profiles": [{{"user_id": key, "properties": {{"seen": key}}}}]}})
    send(m, "/v1/api/profile/user/deletion-job/bulk", {{"user_ids": [key]}})
    m.assert_event_sent("login", user_id=key, count=1, note="sent " + key, **{{key: (key,)}})
    m.assert_profile(key, seen=key)
    m.assert_deletion_requested(key)
    {failing}
"""


@pytest.mark.parametrize("fixture", ["marketap", "marketap_inprocess"])
@pytest.mark.parametrize(
    "failing",
    [
        'm.assert_event_sent("login", user_id=key, note="not " + key)',
        'm.assert_event_sent("logout", user_id="u", **{key: 1})',
        'm.assert_profile(key, seen="other " + key)',
        'm.assert_deletion_requested("u", key + "-2")',
    ],
)
def test_an_expectation_holding_the_key_matches_what_was_stored_and_is_shown_masked(
    pytester: pytest.Pytester, fixture: str, failing: str
) -> None:
    """The fake stores a known key sent as data masked; an assertion that names it is masked
    the same way, so it passes where the data matches, and its failure message, which quotes
    what was expected, shows the key as every other output does."""
    pytester.makepyfile(SETUP + KEY_AS_DATA.format(fixture=fixture, failing=failing))
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "AssertionError: marketap: expected" in out
    failure = out[out.index("AssertionError: marketap: expected") :]
    assert "test-api-key" not in failure
    assert "test****" in failure


def test_every_configured_key_is_masked_in_an_expectation() -> None:
    """The handle sends its own key; another the fake knows is masked in stored data all the
    same, and so in what a test expects."""
    import requests

    from pytest_plugin import mock_marketap

    other = "sk-live-other-project-key"
    with mock_marketap(api_keys={"sk-live-handle-key": ["p"], other: ["q"]}) as m:
        body = {"events": [{"name": "e", "user_id": other}]}
        assert requests.post(m.url_for("/v1/api/events"), json=body, headers=m.headers).status_code == 202
        m.assert_event_sent("e", user_id=other)
        with pytest.raises(AssertionError) as failure:
            m.assert_event_sent("e", user_id=other + "!")
    assert other not in str(failure.value)
    assert "sk-l****!" in str(failure.value)
