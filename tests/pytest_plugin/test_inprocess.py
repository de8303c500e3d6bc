"""Code under test unchanged, whatever its HTTP client: ``marketap_inprocess`` for httpx,
requests and aiohttp, the guard that keeps every test off the real Marketap, ``mock_marketap``
outside pytest fixtures, and one fake shared by xdist workers. Through pytester, as users meet it."""

from __future__ import annotations

import importlib
import sys
import types

import httpx
import pytest

from mockserver import Backend, LiveServer

SHOP = '''
"""A shop backend that reports to Marketap three ways, as production code does."""
import os

import aiohttp
import httpx
import requests

MARKETAP = "https://event.marketap.io"  # hard-coded
HEADERS = {"Authorization": "Bearer test-api-key"}


def report_signup(user_id):
    """requests, the URL hard-coded, a session with retries mounted."""
    with requests.Session() as session:
        session.mount("https://", requests.adapters.HTTPAdapter(max_retries=2))
        r = session.post(
            f"{MARKETAP}/v1/api/events",
            params={"project_id": "test-project"},
            headers=HEADERS,
            json={"events": [{"name": "mkt_signup", "user_id": user_id}]},
            timeout=5,
        )
    r.raise_for_status()
    return r.status_code


async def sync_profile(user_id, name):
    """httpx async, the URL from the environment."""
    base = os.environ.get("MARKETAP_API", "https://event.marketap.io:443")
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post(
            "/v1/api/profile/user?project_id=test-project",
            headers=HEADERS,
            json={"profiles": [{"user_id": user_id, "properties": {"mkt_name": name}}]},
        )
    return r.status_code


async def forget(user_id):
    """aiohttp, headers on the session."""
    async with aiohttp.ClientSession(MARKETAP, headers=HEADERS) as session:
        async with session.post(
            "/v1/api/profile/user/deletion-job", params={"project_id": "test-project"}, json={"user_id": user_id}
        ) as r:
            return r.status
'''

TESTS = """
import anyio, pytest
import shop

def test_requests(marketap_inprocess):
    assert shop.report_signup("u-1") == 202
    marketap_inprocess.assert_event_sent("mkt_signup", user_id="u-1", count=1)

@pytest.mark.asyncio
async def test_httpx_async_with_pytest_asyncio(marketap_inprocess):
    assert await shop.sync_profile("u-1", "홍길동") == 202
    marketap_inprocess.assert_profile("u-1", mkt_name="홍길동")

@pytest.mark.anyio
async def test_aiohttp_with_anyio(marketap_inprocess):
    assert await shop.forget("u-1") == 202
    marketap_inprocess.assert_deletion_requested("u-1")

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.parametrize("i", range(6))
def test_each_test_starts_clean(marketap_inprocess, i):
    assert marketap_inprocess.requests == []
    assert shop.report_signup(f"u-{i}") == 202
    assert len(marketap_inprocess.events) == 1
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(shop=SHOP, test_shop=TESTS)
    return pytester


def test_three_client_styles_are_tested_in_process_unchanged(shop: pytest.Pytester) -> None:
    shop.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=9)


@pytest.mark.slow
def test_three_client_styles_under_xdist(shop: pytest.Pytester) -> None:
    shop.runpytest_subprocess("-n", "2").assert_outcomes(passed=9)


def test_other_hosts_are_left_alone(pytester: pytest.Pytester) -> None:
    with LiveServer(Backend()) as other:  # the test's own service, on a real socket
        pytester.makepyfile(
            f"""
            import aiohttp, httpx, pytest, requests
            OTHER = "{other.url}/_mock/health"

            @pytest.mark.asyncio
            async def test_every_client_reaches_other_hosts(marketap_inprocess):
                assert requests.get(OTHER).json()["status"] == "ok"
                assert httpx.get(OTHER).json()["status"] == "ok"
                async with aiohttp.ClientSession() as session:
                    async with session.get(OTHER) as r:
                        assert (await r.json())["status"] == "ok"
                assert marketap_inprocess.requests == []
            """
        )
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_tests_own_mocks_of_other_hosts_still_answer(pytester: pytest.Pytester) -> None:
    """A test that mocks its own services with respx or responses, started inside the fixture or
    before it, gets its mocks' answers, and the vendor's host still goes to the fake (unless the
    test's own mock has an answer for it)."""
    pytester.makepyfile(
        """
        import httpx, pytest, requests, respx, responses

        VENDOR = "https://event.marketap.io/v1/api/events?project_id=test-project"
        AUTH = {"Authorization": "Bearer test-api-key"}
        BODY = {"events": [{"name": "mkt_login", "user_id": "u-1"}]}

        def test_respx_default_mocker(marketap_inprocess):
            with respx.mock:
                respx.get("https://payments.test/ok").respond(200, json={"paid": True})
                assert httpx.get("https://payments.test/ok").json() == {"paid": True}
                assert httpx.post(VENDOR, json=BODY, headers=AUTH).status_code == 202
            marketap_inprocess.assert_event_sent("mkt_login", count=1)

        def test_respx_own_answer_for_the_vendor_wins(marketap_inprocess):
            with respx.mock:
                respx.post(VENDOR).respond(503)
                respx.route(host="event.marketap.io", path="/v1/api/profile/user").pass_through()
                assert httpx.post(VENDOR, json=BODY, headers=AUTH).status_code == 503
                assert httpx.post(VENDOR.replace("events", "profile/user"), json={"profiles": []}, headers=AUTH).status_code == 400
            assert [r.status for r in marketap_inprocess.requests] == [400]

        @pytest.mark.asyncio
        async def test_respx_async(marketap_inprocess):
            # a router at the fake's own layer lets the vendor's host through, as for any host
            with respx.mock(using="httpx") as mock:
                mock.route(host="event.marketap.io").pass_through()
                mock.get("https://payments.test/ok").respond(200, json={"paid": True})
                async with httpx.AsyncClient() as client:
                    assert (await client.get("https://payments.test/ok")).json() == {"paid": True}
                    assert (await client.post(VENDOR, json=BODY, headers=AUTH)).status_code == 202
            marketap_inprocess.assert_event_sent("mkt_login", count=1)

        def test_responses_started_inside(marketap_inprocess):
            with responses.RequestsMock() as mock:
                mock.get("https://payments.test/ok", json={"paid": True})
                assert requests.get("https://payments.test/ok").json() == {"paid": True}
                assert requests.post(VENDOR, json=BODY, headers=AUTH).status_code == 202
            marketap_inprocess.assert_event_sent("mkt_login", count=1)

        @responses.activate
        def test_responses_activate(marketap_inprocess):
            responses.add_passthru("https://")  # "everything else out": the vendor's still to the fake
            responses.get("https://payments.test/ok", json={"paid": True})
            assert requests.get("https://payments.test/ok").json() == {"paid": True}
            with requests.Session() as session:
                assert session.post(VENDOR, json=BODY, headers=AUTH).status_code == 202
            marketap_inprocess.assert_event_sent("mkt_login", count=1)
            assert len(responses.calls) == 1  # the vendor's request is not one of its calls

        def test_responses_own_answer_for_the_vendor_wins(marketap_inprocess):
            with responses.RequestsMock() as mock:
                mock.post(VENDOR, status=503)
                assert requests.post(VENDOR, json=BODY, headers=AUTH).status_code == 503
                assert requests.post(VENDOR, json=BODY, headers=AUTH).status_code == 503
            assert marketap_inprocess.requests == []

        @pytest.fixture
        def payments():
            with responses.RequestsMock() as mock:
                mock.get("https://payments.test/ok", json={"paid": True})
                yield mock

        def test_responses_started_before(payments, marketap_inprocess):
            # what the fake's mock passes on goes to the test's mock, never to the network
            assert requests.get("https://payments.test/ok").json() == {"paid": True}
            assert requests.post(VENDOR, json=BODY, headers=AUTH).status_code == 202
            marketap_inprocess.assert_event_sent("mkt_login", count=1)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=7)


def test_a_proxy_in_the_environment_changes_nothing(
    marketap_inprocess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a proxy urllib3 opens a tunnel before it sends; for the vendor's host there is
    nothing to open (the proxy here is a closed port: reaching it would fail)."""
    import requests

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    url = "https://event.marketap.io/v1/api/events?project_id=test-project"
    body = {"events": [{"name": "e", "user_id": "u"}]}
    auth = {"Authorization": "Bearer test-api-key"}
    assert requests.post(url, json=body, headers=auth, timeout=5).status_code == 202
    assert httpx.post(url, json=body, headers=auth, timeout=5).status_code == 202
    assert len(marketap_inprocess.events) == 2


def test_a_tests_own_aioresponses_works_inside_and_around_the_fake(pytester: pytest.Pytester) -> None:
    """aioresponses patches with autospec, which fails on a mock already in place: the fake's
    aiohttp route is a plain function, so a test's own aioresponses starts inside it or around
    it, answers its hosts, and the vendor's host still goes to the fake."""
    pytester.makepyfile(
        """
        import inspect
        from types import SimpleNamespace

        import aiohttp, pytest
        from aioresponses import aioresponses

        VENDOR = "https://event.marketap.io/v1/api/events?project_id=test-project"
        AUTH = {"Authorization": "Bearer test-api-key"}
        BODY = {"events": [{"name": "mkt_login", "user_id": "u-1"}]}

        class Response(aiohttp.ClientResponse):  # aioresponses 0.7.9 cannot build aiohttp 3.14's
            def __init__(self, method, url, **kwargs):
                if "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
                    kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
                super().__init__(method, url, **kwargs)

        async def payments_and_vendor():
            async with aiohttp.ClientSession() as session:
                async with session.get("https://payments.test/ok") as answer:
                    assert await answer.json() == {"paid": True}
                async with session.post(VENDOR, json=BODY, headers=AUTH) as answer:
                    return answer.status

        @pytest.mark.asyncio
        async def test_started_inside(marketap_inprocess):
            with aioresponses() as mock:
                mock.get("https://payments.test/ok", payload={"paid": True}, response_class=Response)
                assert await payments_and_vendor() == 202
            marketap_inprocess.assert_event_sent("mkt_login", count=1)

        @pytest.mark.asyncio
        async def test_its_own_answer_for_the_vendor_wins(marketap_inprocess):
            with aioresponses() as mock:
                mock.get("https://payments.test/ok", payload={"paid": True}, response_class=Response)
                mock.post(VENDOR, status=503, response_class=Response)
                assert await payments_and_vendor() == 503
            assert marketap_inprocess.requests == []

        @pytest.fixture
        def payments():
            with aioresponses() as mock:
                mock.get("https://payments.test/ok", payload={"paid": True}, response_class=Response)
                yield mock

        @pytest.mark.asyncio
        async def test_started_before(payments, marketap_inprocess):
            assert await payments_and_vendor() == 202
            marketap_inprocess.assert_event_sent("mkt_login", count=1)

        @pytest.mark.asyncio
        async def test_the_fake_alone_after_them(marketap_inprocess):
            async with aiohttp.ClientSession() as session:
                async with session.post(VENDOR, json=BODY, headers=AUTH) as answer:
                    assert answer.status == 202
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=4)


def test_faults_act_as_a_real_server_would_for_each_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time
        import aiohttp, httpx, pytest, requests

        URL = "https://event.marketap.io/v1/api/events?project_id=test-project"
        H = {"Authorization": "Bearer test-api-key"}
        BODY = {"events": [{"name": "e", "user_id": "u"}]}

        def test_requests(marketap_inprocess):
            marketap_inprocess.fail_next(503, retry_after=7)
            r = requests.post(URL, json=BODY, headers=H)
            assert (r.status_code, r.headers["Retry-After"]) == (503, "7")
            marketap_inprocess.drop_next()
            with pytest.raises(requests.ConnectionError):
                requests.post(URL, json=BODY, headers=H)
            marketap_inprocess.add_latency(300, times=1)
            started = time.monotonic()
            assert requests.post(URL, json=BODY, headers=H).status_code == 202
            assert time.monotonic() - started >= 0.3
            assert [r.status for r in marketap_inprocess.requests] == [503, 0, 202]  # 0: no answer

        def test_httpx(marketap_inprocess):
            marketap_inprocess.drop_next()
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.post(URL, json=BODY, headers=H)

        @pytest.mark.asyncio
        async def test_aiohttp(marketap_inprocess):
            marketap_inprocess.fail_next(429)
            marketap_inprocess.drop_next()
            async with aiohttp.ClientSession(headers=H) as session:
                async with session.post(URL, json=BODY) as r:
                    assert r.status == 429
                with pytest.raises(aiohttp.ClientConnectionError):
                    await session.post(URL, json=BODY)
                marketap_inprocess.add_latency(1000, times=1)
                started = time.monotonic()
                other = asyncio_sleep_marker = []
                async def tick():
                    import asyncio
                    await asyncio.sleep(0.05)
                    other.append(time.monotonic() - started)
                import asyncio
                ticker = asyncio.ensure_future(tick())
                async with session.post(URL, json=BODY) as r:
                    assert r.status == 202
                await ticker
                assert other[0] < 0.8  # the latency waited without blocking the event loop
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


# --- the vendor guard --------------------------------------------------------------------------

GUARD = """
import socket, urllib.request
import pytest, requests
import pytest_plugin.vendor_guard as guard

LOOKUPS = []

@pytest.fixture(autouse=True)
def record_lookups(monkeypatch):
    real = guard._original
    def recording(host, *args, **kwargs):
        LOOKUPS.append(host)
        if "marketap.io" in str(host):
            raise socket.gaierror("no network here")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(guard, "_original", recording)  # what the guard calls when it lets a lookup by
    monkeypatch.setattr(socket, "getaddrinfo", recording)  # what clients call when no guard is up

URL = "https://event.marketap.io/v1/api/events?project_id=test-project"

def test_urllib_under_marketap_inprocess(marketap_inprocess):
    with pytest.raises(OSError, match="marketap: this test tried to reach the real Marketap API") as error:
        urllib.request.urlopen(URL, timeout=5)
    assert "`marketap` (a live fake" in str(error.value)

def test_requests_under_marketap_respx(marketap_respx):
    with pytest.raises(requests.ConnectionError, match="marketap_respx does not serve") as error:
        requests.post(URL, json={}, timeout=5)
    assert "use `marketap_inprocess`" in str(error.value)

def test_a_swallowed_attempt_still_fails_the_test(marketap):
    try:
        urllib.request.urlopen("https://api.marketap.io/anything", timeout=5)
    except OSError:
        pass  # a retry loop that gives up quietly

def test_no_lookup_was_attempted():
    assert not [h for h in LOOKUPS if "marketap.io" in str(h)]
"""


def test_the_guard_stops_every_client_before_any_lookup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GUARD)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=3)  # each test's teardown reports what it blocked
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_swallowed_attempt_still_fails_the_test*",
            "*marketap: this test tried to reach the real Marketap API (api.marketap.io) with a client "
            "that marketap does not serve; it serves its own URL: point the client at `marketap.url`*",
        ]
    )


def test_pointing_at_the_real_service_turns_the_guard_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        GUARD.replace("def test_no_lookup_was_attempted():", "def _unused():")
        + """
def test_last_the_lookup_went_out():
    assert [h for h in LOOKUPS if "marketap.io" in str(h)]
"""
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--marketap-url", "https://event.marketap.io", "-k", "inprocess or last"
    )
    result.assert_outcomes(failed=1, passed=1)  # urlopen failed on the lookup, not on the guard
    result.stdout.fnmatch_lines(["*no network here*"])


# --- outside pytest fixtures ---------------------------------------------------------------------


def test_mock_marketap_as_context_manager_and_decorators(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import unittest
        import aiohttp, httpx, pytest, requests
        from pytest_plugin import mock_marketap

        URL = "https://event.marketap.io/v1/api/events?project_id=test-project"
        H = {"Authorization": "Bearer test-api-key"}
        BODY = {"events": [{"name": "e", "user_id": "u", "timestamp": "2025-01-17T05:39:22"}]}

        def test_context_manager():
            with mock_marketap(allow_naive_timestamps=True) as marketap:
                assert requests.post(URL, json=BODY, headers=H).status_code == 202
                assert marketap.mode == "inprocess" and len(marketap.events) == 1
            with mock_marketap() as marketap:  # fresh, default settings
                assert requests.post(URL, json=BODY, headers=H).status_code == 400
                assert marketap.events == []

        @mock_marketap()
        def test_decorator_passes_the_handle(marketap):
            assert httpx.post(URL, json=BODY, headers=H).status_code == 400
            assert marketap.rejected_requests[0].errors[0]["field"] == "events[0].timestamp"

        @mock_marketap()
        @pytest.mark.asyncio
        async def test_async_decorator(marketap):
            async with aiohttp.ClientSession(headers=H) as session:
                async with session.post(URL, json={"events": [{"name": "e", "user_id": "u"}]}) as r:
                    assert r.status == 202
            marketap.assert_event_sent("e")

        @mock_marketap(deletion_jobs="manual")
        class TestErasure(unittest.TestCase):
            def test_one(self):
                requests.post(URL.replace("events", "profile/user/deletion-job"), json={"user_id": "u"}, headers=H)
                self.assertEqual([j.status for j in self.marketap.deletion_jobs], ["pending"])

            def test_two_starts_clean(self):
                self.assertEqual(self.marketap.requests, [])

        @mock_marketap()
        class TestAsync(unittest.IsolatedAsyncioTestCase):
            async def test_aiohttp(self):
                async with aiohttp.ClientSession(headers=H) as session:
                    async with session.post(URL, json={"events": [{"name": "e", "user_id": "u"}]}) as r:
                        self.assertEqual(r.status, 202)
                self.assertEqual(len(self.marketap.events), 1)

        def test_nothing_is_patched_afterwards():
            with pytest.raises(requests.ConnectionError):
                requests.post(URL, json=BODY, headers=H, timeout=2)  # the network, which is not there
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=7)


# --- one fake shared by xdist workers ------------------------------------------------------------

SHARED = """
import pytest, requests

@pytest.mark.parametrize("i", range(20))
def test_post_one_event(marketap, i):
    body = {"events": [{"name": f"e{i}", "user_id": "u"}]}
    assert requests.post(marketap.url_for("/v1/api/events"), json=body, headers=marketap.headers).status_code == 202
    assert [e["name"] for e in marketap.events] == [f"e{i}"]
    assert [r.status for r in marketap.requests] == [202]
"""


@pytest.mark.slow
def test_xdist_workers_share_one_fake_each_on_its_own_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHARED)
    backend = Backend({"any_project": True})
    with LiveServer(backend) as server:
        for _ in range(3):
            result = pytester.runpytest_subprocess("-n", "2", "--marketap-url", server.url)
            result.assert_outcomes(passed=20)
    assert {"test-project-gw0", "test-project-gw1"} <= set(backend.projects())


@pytest.mark.slow
def test_xdist_against_a_fake_that_cannot_be_shared_fails_at_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHARED)
    with LiveServer(Backend()) as server:
        result = pytester.runpytest_subprocess("-n", "2", "--marketap-url", server.url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*under pytest-xdist every worker would reset the state*--any-project*"])


def test_a_library_imported_anew_is_patched_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pytester run imports anew what it did not find: the doors patch the class now in
    sys.modules, not the one they patched first (which no client uses any more)."""
    import responses

    from mockserver import create_app
    from pytest_plugin.inprocess import InProcess

    app = create_app(backend=Backend())
    InProcess(app).start().stop()
    old = responses.RequestsMock
    for name in [n for n in sys.modules if n == "responses" or n.startswith("responses.")]:
        monkeypatch.delitem(sys.modules, name)
    fresh = importlib.import_module("responses").RequestsMock
    assert fresh is not old
    original = fresh.__dict__["_on_request"]
    routes = InProcess(app).start()
    try:
        assert fresh.__dict__["_on_request"] is not original
    finally:
        routes.stop()
    assert fresh.__dict__["_on_request"] is original


def test_what_a_door_imports_is_kept_while_its_module_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_plugin.inprocess import _Imported

    loads: list[int] = []
    monkeypatch.setitem(sys.modules, "a_client_library", types.ModuleType("a_client_library"))
    imported = _Imported("a_client_library", lambda: loads.append(1) or len(loads))
    assert imported() == imported() == 1
    monkeypatch.setitem(sys.modules, "a_client_library", types.ModuleType("a_client_library"))
    assert imported() == imported() == 2
