"""The plugin, tested as users meet it: through pytester, with its entry point loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mockserver import Backend, LiveServer

EVENTS = "/v1/api/events"


def test_fixtures_are_listed_with_their_docs(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    out = result.stdout.str()
    for name in ("marketap_server [session scope]", "marketap --", "marketap_respx --"):
        assert name in out
    assert "reset before the test" in out


def test_marker_and_options_are_registered(pytester: pytest.Pytester) -> None:
    assert "@pytest.mark.marketap(**settings)" in pytester.runpytest("--markers").stdout.str()
    help_text = pytester.runpytest("--help").stdout.str()
    for flag in ("--marketap-url", "--marketap-api-key", "--marketap-project-id", "MARKETAP_URL"):
        assert flag in help_text


def test_live_fixture_with_requests_and_httpx(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, requests

        def test_requests(marketap):
            body = {"events": [{"name": "mkt_login", "user_id": "u-1"}]}
            assert requests.post(marketap.url_for("/v1/api/events"), json=body, headers=marketap.headers).status_code == 202
            assert marketap.mode == "live" and marketap.url.startswith("http://127.0.0.1:")
            assert [r.status for r in marketap.requests] == [202]
            assert marketap.events == [{"name": "mkt_login", "user_id": "u-1"}]

        def test_httpx_sees_a_clean_fake(marketap):
            assert marketap.requests == [] and marketap.events == []
            r = httpx.post(marketap.url_for("/v1/api/profile/user"), json={"profiles": [{"user_id": "u"}]},
                           headers=marketap.headers)
            assert r.status_code == 202
            assert marketap.profiles == {"u": {}}

        def test_urllib_in_a_subprocess(marketap):
            import subprocess, sys
            code = (
                "import urllib.request, sys; "
                "r = urllib.request.Request(sys.argv[1], data=b'{\\"user_id\\": \\"u\\"}', method='POST', "
                "headers={'Authorization': 'Bearer test-api-key', 'Content-Type': 'application/json'}); "
                "print(urllib.request.urlopen(r).status)"
            )
            out = subprocess.run([sys.executable, "-c", code, marketap.url_for("/v1/api/profile/user/deletion-job")],
                                 capture_output=True, text=True, check=True).stdout
            assert out.strip() == "202"
            marketap.assert_deletion_requested("u")
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_one_server_per_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        seen = set()

        def test_a(marketap):
            seen.add(marketap.url)

        def test_b(marketap, marketap_server):
            seen.add(marketap.url)
            assert marketap is marketap_server
            assert len(seen) == 1
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_respx_fixture_sync_and_async_with_the_vendor_url(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import httpx

        URL = "https://event.marketap.io/v1/api/events?project_id=test-project"
        HEADERS = {"Authorization": "Bearer test-api-key"}
        BODY = {"events": [{"name": "mkt_login", "user_id": "u"}]}

        def test_sync(marketap_respx):
            with httpx.Client() as client:
                r = client.post(URL, json=BODY, headers=HEADERS)
            assert r.status_code == 202 and r.content == b""
            bad = httpx.post(URL, json={"events": []}, headers=HEADERS)
            assert bad.status_code == 400
            assert bad.json()["errors"] == [{"field": "events", "reason": "must not be empty"}]
            assert marketap_respx.mode == "inprocess"
            assert [r.status for r in marketap_respx.requests] == [202, 400]

        def test_async(marketap_respx):
            async def send():
                async with httpx.AsyncClient() as client:
                    return await client.post(URL, json=BODY, headers=HEADERS)
            assert asyncio.run(send()).status_code == 202
            marketap_respx.assert_event_sent("mkt_login", user_id="u", count=1)

        def test_fresh_state_per_test(marketap_respx):
            assert marketap_respx.requests == []
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_respx_fixture_leaves_other_hosts_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_other_host_reaches_the_live_fake(marketap_respx, marketap):
            # the live fake is another host: its request goes over the socket, not into the respx fake
            r = httpx.post(marketap.url_for("/v1/api/events"), json={"events": [{"name": "e", "user_id": "u"}]},
                           headers=marketap.headers)
            assert r.status_code == 202
            assert len(marketap.events) == 1
            assert marketap_respx.events == []
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_marker_sets_settings_for_one_test_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, pytest, requests

        NAIVE = {"events": [{"name": "e", "user_id": "u", "timestamp": "2025-01-17T05:39:22"}]}

        @pytest.mark.marketap(allow_naive_timestamps=True)
        def test_relaxed_live(marketap):
            assert requests.post(marketap.url_for("/v1/api/events"), json=NAIVE, headers=marketap.headers).status_code == 202

        def test_strict_again(marketap):
            assert requests.post(marketap.url_for("/v1/api/events"), json=NAIVE, headers=marketap.headers).status_code == 400

        @pytest.mark.marketap(allow_naive_timestamps=True)
        def test_relaxed_respx(marketap_respx):
            assert httpx.post(marketap_respx.url_for("/v1/api/events"), json=NAIVE, headers=marketap_respx.headers).status_code == 202

        @pytest.mark.marketap(deletion_jobs="manual")
        def test_manual_jobs(marketap):
            requests.post(marketap.url_for("/v1/api/profile/user/deletion-job"), json={"user_id": "u"}, headers=marketap.headers)
            assert [j.status for j in marketap.deletion_jobs] == ["pending"]
            assert [j.status for j in marketap.complete_deletion_jobs()] == ["completed"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)


def test_marker_with_a_bad_setting_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.marketap(allow_naive_timestamp=True)
        def test_typo(marketap):
            pass

        @pytest.mark.marketap(max_batch_items="lots")
        def test_bad_value(marketap_respx):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.marketap: unknown setting(s) allow_naive_timestamp (did you mean allow_naive_timestamps?); known:*",
            "*@pytest.mark.marketap: max_batch_items must be a whole number, not 'lots'*",
        ]
    )


def test_options_point_the_fixture_at_a_fake_started_elsewhere(pytester: pytest.Pytester) -> None:
    backend = Backend({"api_keys": {"key-elsewhere": ["proj-elsewhere"]}})
    pytester.makepyfile(
        """
        import requests

        def test_external(marketap):
            assert marketap.mode == "external"
            assert (marketap.api_key, marketap.project_id) == ("key-elsewhere", "proj-elsewhere")
            body = {"events": [{"name": "e", "user_id": "u"}]}
            assert requests.post(marketap.url_for("/v1/api/events"), json=body, headers=marketap.headers).status_code == 202
            marketap.assert_event_sent("e", user_id="u")
            assert [r.status for r in marketap.requests] == [202]
        """
    )
    with LiveServer(backend) as server:
        result = pytester.runpytest(
            f"--marketap-url={server.url}",
            "--marketap-api-key=key-elsewhere",
            "--marketap-project-id=proj-elsewhere",
        )
    result.assert_outcomes(passed=1)
    assert len(backend.requests()) == 1  # the outside fake really got it


def test_environment_and_ini_configure_the_target(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        def test_target(marketap):
            assert (marketap.mode, marketap.api_key, marketap.project_id) == ("external", "env-key", "ini-project")
        """
    )
    with LiveServer(Backend({"api_keys": {"env-key": ["ini-project"]}})) as server:
        monkeypatch.setenv("MARKETAP_URL", server.url)
        monkeypatch.setenv("MARKETAP_API_KEY", "env-key")
        pytester.makeini(
            "[pytest]\nmarketap_project_id = ini-project\nmarketap_api_key = ini-key\nasyncio_default_fixture_loop_scope = function\n"
        )
        pytester.runpytest().assert_outcomes(passed=1)


def test_api_key_option_also_configures_the_in_process_fake(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, requests

        def test_live(marketap):
            assert requests.post(marketap.url_for("/v1/api/events"), json={"events": [{"name": "e", "user_id": "u"}]},
                                 headers={"Authorization": "Bearer my-key"}).status_code == 202

        def test_respx(marketap_respx):
            assert marketap_respx.project_id == "my-project"
            assert httpx.post(marketap_respx.url_for("/v1/api/events"), json={"events": [{"name": "e", "user_id": "u"}]},
                              headers={"Authorization": "Bearer test-api-key"}).status_code == 401
        """
    )
    pytester.runpytest("--marketap-api-key=my-key", "--marketap-project-id=my-project").assert_outcomes(
        passed=2
    )


def test_target_without_control_plane_fails_in_one_sentence(pytester: pytest.Pytester) -> None:
    from werkzeug.wrappers import Response

    def vendor_like(environ: dict[str, object], start_response: object) -> object:
        return Response(status=202)(environ, start_response)  # type: ignore[arg-type]

    pytester.makepyfile(
        """
        import requests

        def test_send_then_ask(marketap):
            r = requests.post(marketap.url_for("/v1/api/events"), json={"events": []}, headers=marketap.headers)
            assert r.status_code == 202
            marketap.assert_event_sent("e")
        """
    )
    with LiveServer(app=vendor_like) as server:
        result = pytester.runpytest(f"--marketap-url={server.url}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ControlPlaneMissing: marketap: http://127.0.0.1:* has no control plane*"])


@pytest.mark.slow
def test_xdist_gives_each_worker_its_own_fake(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os, pytest, requests

        @pytest.mark.parametrize("i", range(8))
        def test_send(marketap, i):
            body = {"events": [{"name": "e", "user_id": os.environ.get("PYTEST_XDIST_WORKER", "none")}]}
            assert requests.post(marketap.url_for("/v1/api/events"), json=body, headers=marketap.headers).status_code == 202
            assert len(marketap.events) == 1
        """
    )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=8)


def test_given_with_the_explicit_reset_pattern(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests
        from hypothesis import given, settings, strategies as st

        @settings(max_examples=25, deadline=None)
        @given(names=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=5))
        def test_each_example_starts_clean(marketap_server, names):
            marketap_server.reset()
            body = {"events": [{"name": n, "user_id": "u"} for n in names]}
            requests.post(marketap_server.url_for("/v1/api/events"), json=body, headers=marketap_server.headers)
            assert [e["name"] for e in marketap_server.events] == names
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_loading_the_plugin_imports_no_flask_respx_or_hypothesis() -> None:
    code = textwrap.dedent(
        """
        import sys
        import pytest_plugin, pytest_plugin.plugin
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "werkzeug", "respx", "hypothesis", "httpx"))
        assert not heavy, heavy
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_exported_types_annotate_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_plugin import CapturedRequest, DeletionJob, MarketapMock

        def test_types(marketap: MarketapMock, marketap_respx: MarketapMock) -> None:
            assert isinstance(marketap, MarketapMock) and isinstance(marketap_respx, MarketapMock)
            assert CapturedRequest.__name__ == "CapturedRequest" and DeletionJob.__name__ == "DeletionJob"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_fault_helpers_work_the_same_in_both_modes_and_end_with_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, pytest, requests

        BODY = {"events": [{"name": "e", "user_id": "u"}]}

        @pytest.fixture(params=["marketap", "marketap_respx"])
        def fake(request):
            return request.getfixturevalue(request.param)

        def send(fake):
            return httpx.post(fake.url_for("/v1/api/events"), json=BODY, headers=fake.headers)

        def test_fail_next(fake):
            fake.fail_next(503, times=2, retry_after=1)
            assert [send(fake).status_code for _ in range(3)] == [503, 503, 202]
            assert fake.faults[0]["fired"] == 2
            assert [r.faulted for r in fake.requests] == [True, True, False]

        def test_drop_next(fake):
            fake.drop_next(path="/v1/api/events")
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                send(fake)
            assert send(fake).status_code == 202

        def test_add_latency(fake):
            import time
            fake.add_latency(100)
            start = time.monotonic()
            assert send(fake).status_code == 202
            assert time.monotonic() - start >= 0.1

        def test_rules_are_gone(fake):
            assert fake.faults == []
            assert send(fake).status_code == 202

        def test_bad_rule_is_a_clear_error(fake):
            from mockserver import ToolkitError
            with pytest.raises(ToolkitError, match="status must be a 4xx or 5xx code"):
                fake.fail_next(200)

        @pytest.mark.marketap(deletion_job_delay=60)
        def test_advance_the_clock(fake):
            httpx.post(fake.url_for("/v1/api/profile/user/deletion-job"), json={"user_id": "u"}, headers=fake.headers)
            assert fake.deletion_jobs[0].status == "pending"
            fake.advance(60)
            assert fake.deletion_jobs[0].status == "completed"
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=12)


LEAK = """
    import httpx, pytest, requests

    NAIVE = {{"events": [{{"name": "e", "user_id": "u", "timestamp": "2025-01-17T05:39:22"}}]}}

    def send(mock):
        if mock.mode == "inprocess":  # marketap_respx: httpx only
            return httpx.post(mock.url_for("/v1/api/events"), json=NAIVE, headers=mock.headers).status_code
        return requests.post(mock.url_for("/v1/api/events"), json=NAIVE, headers=mock.headers).status_code

    def test_changes_everything({fixture}):
        {fixture}.configure(allow_naive_timestamps=True, deletion_jobs="manual")
        {fixture}.add_latency(1, path="/v1/api/events")
        {fixture}.advance(3600)
        assert send({fixture}) == 202

    @pytest.mark.marketap(rate_limit="1/h")
    def test_marker_then_configure({fixture}):
        {fixture}.configure(allow_naive_timestamps=True)

    def test_nothing_leaked({fixture}):
        assert send({fixture}) == 400
        assert {fixture}.faults == []
        settings = {fixture}._source.update_settings({{}})
        assert settings["deletion_jobs"] == "immediate" and settings["rate_limit"] is None
        clock = {fixture}.requests[0]  # stamped by real time again
        assert clock.time.startswith("20")
"""


@pytest.mark.parametrize("fixture", ["marketap", "marketap_respx"])
def test_nothing_a_test_changes_leaks_into_the_next(pytester: pytest.Pytester, fixture: str) -> None:
    pytester.makepyfile(LEAK.format(fixture=fixture))
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_nothing_leaks_on_a_fake_started_elsewhere(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAK.format(fixture="marketap"))
    with LiveServer(Backend()) as server:
        pytester.runpytest("--marketap-url", server.url).assert_outcomes(passed=3)
        # changed by hand over HTTP, outside any helper: the next test still starts clean
        server.backend.update_settings({"allow_naive_timestamps": True})
        pytester.runpytest("--marketap-url", server.url, "-k", "nothing_leaked").assert_outcomes(failed=1)
        pytester.runpytest("--marketap-url", server.url).assert_outcomes(passed=3)
        assert server.backend.settings.allow_naive_timestamps is False
