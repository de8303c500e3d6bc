"""The control plane under /_mock/ and the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

from mockserver import Backend, LiveServer, create_app, spec
from mockserver.openapi import EXAMPLES
from tests.conftest import AUTH, PROJECT, Post


def test_health(client: Any) -> None:
    body = client.get("/_mock/health").json
    assert body["status"] == "ok"
    assert body["dropped"] == {"journal": 0, "events": 0, "profiles": 0, "devices": 0, "deletion_jobs": 0}


def test_requests_lists_the_journal_oldest_first_and_limits(tc_post: Post, client: Any) -> None:
    for name in "abc":
        tc_post(spec.EVENTS.path, {"events": [{"name": name, "user_id": "u"}]})
    tc_post(spec.EVENTS.path, {"events": [{"name": 1}]})
    entries = client.get("/_mock/requests").json["requests"]
    assert [e["status"] for e in entries] == [202, 202, 202, 400]
    assert set(entries[0]) >= {
        "id",
        "time",
        "method",
        "path",
        "query",
        "headers",
        "json",
        "status",
        "errors",
        "warnings",
        "faulted",
    }
    assert [
        e["json"]["events"][0]["name"] for e in client.get("/_mock/requests?limit=2").json["requests"]
    ] == ["c", 1]
    assert client.get("/_mock/requests?limit=x").status_code == 400


def test_control_plane_is_never_journaled(client: Any, backend: Backend) -> None:
    client.get("/_mock/health")
    client.post("/_mock/reset", json={})
    assert backend.requests() == []


def test_state_views(tc_post: Post, client: Any) -> None:
    tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u", "properties": {"mkt_name": "홍길동"}}]})
    tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}]})
    tc_post(spec.DEVICES.path, {"devices": [{"device_id": "d", "platform": "android", "user_id": "u"}]})
    assert client.get(f"/_mock/profiles?project_id={PROJECT}").json == {
        "total": 1,
        "profiles": {"u": {"mkt_name": "홍길동"}},
    }
    assert client.get(f"/_mock/events?project_id={PROJECT}").json == {
        "events": [{"name": "e", "user_id": "u"}],
        "total": 1,
        "first": 1,
        "last": 1,
    }
    assert client.get("/_mock/devices").json["devices"]["d"]["user_id"] == "u"  # default project
    assert client.get("/_mock/profiles?project_id=nobody").json == {"total": 0, "profiles": {}}


def test_profiles_and_devices_are_paged_newest_first_stored(
    tc_post: Post, client: Any, backend: Backend
) -> None:
    """A dashboard on a store of 100,000 profiles asks for a page, not a copy of every one."""
    tc_post(spec.PROFILES.path, {"profiles": [{"user_id": f"u{i}"} for i in range(5)]})
    tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u1", "properties": {"plan": "pro"}}]})  # not new
    tc_post(spec.DEVICES.path, {"devices": [{"device_id": f"d{i}", "platform": "web"} for i in range(3)]})

    def page(kind: str, query: str) -> tuple[int, list[str]]:
        answer = client.get(f"/_mock/{kind}?project_id={PROJECT}&{query}").json
        return answer["total"], list(answer[kind])

    assert page("profiles", "limit=2") == (5, ["u3", "u4"])  # the last two first stored, in that order
    assert page("profiles", "limit=0") == (5, [])
    assert page("profiles", "limit=9") == page("profiles", "") == (5, ["u0", "u1", "u2", "u3", "u4"])
    assert page("devices", "limit=1") == (3, ["d2"])
    assert client.get(f"/_mock/profiles?project_id={PROJECT}&limit=-1").json["errors"][0]["field"] == "limit"
    assert backend.profiles(PROJECT)["u1"] == {"plan": "pro"}  # the Python view is still every profile


def test_events_are_paged_by_position_for_pollers(tc_post: Post, client: Any, backend: Backend) -> None:
    def page(query: str) -> tuple[list[str], int, int | None, int | None]:
        answer = client.get(f"/_mock/events?project_id={PROJECT}&{query}").json
        return [e["name"] for e in answer["events"]], answer["total"], answer["first"], answer["last"]

    backend.update_settings({"any_project": True})
    tc_post(spec.EVENTS.path, {"events": [{"name": n, "user_id": "u"} for n in "abc"]})
    tc_post(spec.EVENTS.path, {"events": [{"name": "d", "user_id": "v"}]}, query="project_id=shop-b")
    tc_post(spec.EVENTS.path, {"events": [{"name": n, "user_id": "v"} for n in "ef"]})
    # positions run across projects (a, b, c = 1..3; d = 4 in shop-b; e, f = 5, 6)
    assert page("") == (["a", "b", "c", "e", "f"], 5, 1, 6)
    assert page("after=2") == (["c", "e", "f"], 5, 3, 6)
    assert page("after=6") == ([], 5, None, None)  # nothing new: the cheap, common poll
    assert page("before=5&limit=2") == (["b", "c"], 5, 2, 3)  # the page before the oldest seen
    assert page("after=1&before=6&limit=10") == (["b", "c", "e"], 5, 2, 5)
    assert page("limit=1") == (["f"], 5, 6, 6)
    assert client.get(f"/_mock/events?project_id={PROJECT}&after=-1").status_code == 400
    # deletion takes events from the middle: the total tells a poller its copy is stale
    tc_post(spec.DELETION.path, {"user_id": "u"})
    assert page("after=6") == ([], 2, None, None)
    assert page("") == (["e", "f"], 2, 5, 6)
    # a reset starts positions again, and the total shows it
    client.post("/_mock/reset", json={})
    tc_post(spec.EVENTS.path, {"events": [{"name": "g", "user_id": "u"}]})
    assert page("after=6") == ([], 1, None, None)
    assert page("") == (["g"], 1, 1, 1)


def test_an_events_poll_parses_only_what_is_new(tc_post: Post, client: Any, backend: Backend) -> None:
    from mockserver.state import EventBatch

    for _ in range(5):
        tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}] * 3})
    parsed: list[int] = []
    original = EventBatch.events

    def counting(self: EventBatch, kept: list[int] | None = None) -> list[dict[str, Any]]:
        parsed.append(self.seq)
        return original(self, kept)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EventBatch, "events", counting)
        assert client.get(f"/_mock/events?project_id={PROJECT}&after=12").json["last"] == 15
        assert len(parsed) == 1  # the newest request's text, not all five


def test_first_request_is_the_banners_curl_for_this_server(client: Any, backend: Backend) -> None:
    from mockserver.cli import banner

    curl = client.get("/_mock/first-request", base_url="http://localhost:9000").json["curl"]
    assert curl[0] == "curl -i -X POST 'http://localhost:9000/v1/api/events?project_id=test-project' \\"
    printed = banner("http://localhost:9000", backend.settings, None, "127.0.0.1").splitlines()
    assert ["  " + line for line in curl] == printed[printed.index("Try it:") + 1 :][: len(curl)]


def test_health_version_moves_with_every_change_to_what_is_stored(
    tc_post: Post, client: Any, backend: Backend
) -> None:
    def version() -> int:
        return int(client.get("/_mock/health").json["version"])

    start = version()
    client.get(f"/_mock/profiles?project_id={PROJECT}")
    tc_post(spec.EVENTS.path, {"events": [{"name": "x"}]})  # refused: nothing stored
    assert version() == start
    steps = [
        lambda: tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u"}]}),
        lambda: tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}]}),
        lambda: tc_post(
            spec.DEVICES.path, {"devices": [{"device_id": "d", "platform": "android", "user_id": "u"}]}
        ),
        lambda: backend.update_settings({"deletion_jobs": "manual", "deletion_job_delay": 0}),
        lambda: tc_post(spec.DELETION.path, {"user_id": "u"}),
        lambda: client.post("/_mock/deletion-jobs/complete", json={}),
        lambda: client.post("/_mock/reset", json={}),
    ]
    seen = [start]
    for step in steps:
        step()
        seen.append(version())
    # every change moves it on (the settings change stores nothing), and a reset never takes it back
    assert seen == sorted(seen) and len(set(seen)) == len(steps)


def test_a_deletion_falling_due_moves_the_version_when_health_is_read(
    tc_post: Post, client: Any, backend: Backend
) -> None:
    backend.update_settings({"deletion_job_delay": 60})
    tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u"}]})
    tc_post(spec.DELETION.path, {"user_id": "u"})
    before = client.get("/_mock/health").json["version"]
    backend.advance_clock(61)
    assert client.get("/_mock/health").json["version"] > before
    assert backend.profiles(PROJECT) == {}


def test_health_counts_resets(client: Any) -> None:
    assert client.get("/_mock/health").json["resets"] == 0
    client.post("/_mock/reset", json={})
    client.post(f"/_mock/reset?project_id={PROJECT}", json={})
    assert client.get("/_mock/health").json["resets"] == 2


def test_deletion_jobs_view_and_complete(tc_post: Post, client: Any, backend: Backend) -> None:
    backend.update_settings({"deletion_jobs": "manual"})
    tc_post(spec.DELETION.path, {"user_id": "u"})
    [job] = client.get(f"/_mock/deletion-jobs?project_id={PROJECT}").json["deletion_jobs"]
    assert set(job) >= {"id", "user_ids", "status", "requested_at", "completed_at", "removed"}
    assert job["status"] == "pending"
    done = client.post("/_mock/deletion-jobs/complete", json={}).json["completed"]
    assert [j["status"] for j in done] == ["completed"]
    assert client.get("/_mock/deletion-jobs").json["deletion_jobs"][0]["status"] == "completed"


def test_reset(tc_post: Post, client: Any) -> None:
    tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}]})
    assert client.post("/_mock/reset", json={}).json == {"status": "reset"}
    assert client.get("/_mock/events").json["events"] == []
    assert client.get("/_mock/requests").json == {"requests": []}


def test_restore_undoes_settings_faults_and_clock_and_keeps_what_was_sent(tc_post: Post, client: Any) -> None:
    tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}]})
    client.patch("/_mock/settings", json={"allow_empty_batches": True})
    client.post("/_mock/faults", json={"status": 503})
    advanced = client.post("/_mock/clock/advance", json={"seconds": 3600}).json["now"]
    assert client.post("/_mock/restore", json={}).json == {"status": "restored"}
    assert client.get("/_mock/settings").json["settings"]["allow_empty_batches"] is False
    assert client.get("/_mock/faults").json == {"faults": []}
    clock = client.get("/_mock/clock").json
    assert clock["frozen"] is False and clock["now"] < advanced  # real time again
    assert [e["name"] for e in client.get("/_mock/events").json["events"]] == ["e"]
    assert [r["status"] for r in client.get("/_mock/requests").json["requests"]] == [202]


def test_settings_get_and_patch(client: Any, tc_post: Post) -> None:
    settings = client.get("/_mock/settings").json["settings"]
    assert settings["max_batch_items"] == 1000
    assert settings["api_keys"] == {"test****": ["test-project"]}  # masked
    r = client.patch("/_mock/settings", json={"allow_empty_batches": True})
    assert r.status_code == 200 and r.json["settings"]["allow_empty_batches"] is True
    assert tc_post(spec.EVENTS.path, {"events": []}).status == 202
    for bad in ({"nope": 1}, {"max_batch_items": "many"}, {"max_batch_items": 0}, {"deletion_jobs": "later"}):
        r = client.patch("/_mock/settings", json=bad)
        assert r.status_code == 400 and r.json["errors"][0]["field"] == "settings", bad
    assert client.patch("/_mock/settings", data="[]", content_type="application/json").status_code == 400


def test_clock(client: Any) -> None:
    before = client.get("/_mock/clock").json
    assert before["frozen"] is False
    after = client.post("/_mock/clock/advance", json={"seconds": 3600}).json
    assert after["frozen"] is True and after["now"] > before["now"]
    assert client.post("/_mock/clock/advance", json={"seconds": -1}).status_code == 400
    assert client.post("/_mock/clock/advance", json={}).status_code == 400


@pytest.mark.parametrize("path", ["/_mock/nothing", "/_mock/static/nothing.js"])
def test_unknown_control_paths_are_json_404(client: Any, path: str) -> None:
    r = client.get(path)
    r.close()
    assert r.status_code == 404
    assert r.json["code"] == 404


def test_wrong_method_on_control_path_is_json_405(client: Any) -> None:
    r = client.delete("/_mock/health")
    assert r.status_code == 405 and r.json["code"] == 405


def test_control_token_protects_the_control_plane() -> None:
    client = create_app(control_token="s3cret").test_client()
    assert client.get("/_mock/health").status_code == 401
    assert client.get("/_mock/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/_mock/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    for path in ("/_mock/first-request", "/_mock/parity", "/_mock/events?after=0"):  # it holds the API key
        assert client.get(path).status_code == 401, path
    # the ingestion endpoints keep their own auth
    r = client.post(
        f"{spec.EVENTS.path}?project_id={PROJECT}",
        json={"events": [{"name": "e", "user_id": "u"}]},
        headers=AUTH,
    )
    assert r.status_code == 202


def test_openapi_document_is_valid_openapi(client: Any) -> None:
    document = client.get("/_mock/openapi.json").json
    validate(document)
    assert sorted(document["paths"]) == sorted(spec.PATHS)


def test_every_openapi_example_is_accepted(client: Any) -> None:
    document = client.get("/_mock/openapi.json").json
    for path, item in document["paths"].items():
        example = item["post"]["requestBody"]["content"]["application/json"]["example"]
        assert example == EXAMPLES[path]
        r = client.post(f"{path}?project_id={PROJECT}", json=example, headers=AUTH)
        assert r.status_code == 202, (path, r.json)


def test_openapi_document_follows_the_settings(client: Any) -> None:
    client.patch("/_mock/settings", json={"max_batch_items": 10, "allow_empty_batches": True})
    events = client.get("/_mock/openapi.json").json["paths"][spec.EVENTS.path]["post"]
    schema = events["requestBody"]["content"]["application/json"]["schema"]["properties"]["events"]
    assert (schema["maxItems"], schema["minItems"]) == (10, 0)


def test_live_server_serves_the_control_plane() -> None:
    import requests

    with LiveServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{server.url}/_mock/health", timeout=5).json()["status"] == "ok"
    assert not server.running


def test_live_server_cannot_start_twice() -> None:
    from mockserver import ToolkitError

    with LiveServer() as server, pytest.raises(ToolkitError):
        server.start()


def test_live_server_reraises_an_error_from_its_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from werkzeug.serving import BaseWSGIServer

    def fail(self: object, poll_interval: float = 0.5) -> None:
        raise RuntimeError("server thread failed")

    monkeypatch.setattr(BaseWSGIServer, "serve_forever", fail)
    server = LiveServer().start()
    with pytest.raises(RuntimeError, match="server thread failed"):
        server.stop()


def test_the_page_and_its_files_are_served_even_behind_a_token() -> None:
    client = create_app(control_token="s3cret").test_client()
    page = client.get("/_mock/")
    assert page.status_code == 200 and b"<title>Marketap fake</title>" in page.data
    assert b"https://" not in page.data  # nothing fetched from the internet
    page.close()
    for name in ("app.js", "style.css"):
        response = client.get(f"/_mock/static/{name}")
        assert response.status_code == 200 and response.data  # reading it closes the file
        response.close()
    assert client.get("/_mock/requests").status_code == 401  # the data stays guarded


def test_request_summaries_and_one_request(tc_post: Post, client: Any) -> None:
    tc_post(spec.EVENTS.path, {"events": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]})
    [summary] = client.get("/_mock/requests?summary=1").json["requests"]
    assert "json" not in summary and "headers" not in summary
    assert (summary["error_count"], len(summary["errors"]), summary["items"]) == (4, 3, 4)
    full = client.get(f"/_mock/requests/{summary['id']}").json["request"]
    assert full["json"]["events"][0] == {"name": "a"}
    assert client.get("/_mock/requests/999").status_code == 404


@pytest.mark.parametrize("path", [spec.EVENTS.path, spec.PROFILES.path])
def test_a_lone_surrogate_refused_does_not_break_the_listing(path: str) -> None:
    import httpx

    from pytest_plugin.sources import HttpSource

    body = b'{"events": [{"name": "a", "user_id": "\\ud800"}], "profiles": [{"user_id": "\\ud800"}]}'
    backend = Backend()
    with LiveServer(backend) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        headers = {**AUTH, "Content-Type": "application/json"}
        assert http.post(f"{path}?project_id={PROJECT}", content=body, headers=headers).status_code == 400
        listing = http.get("/_mock/requests")
        assert listing.status_code == 200
        (entry,) = listing.json()["requests"]  # the whole answer arrived and parses
        assert entry["json"] is None and "\\ud800" in entry["body"]
        assert http.get("/_mock/requests/1").status_code == 200
        (captured,) = HttpSource(server.url, None).requests()  # what marketap.requests reads
        assert captured["status"] == 400


def test_a_listing_writes_any_stray_surrogate_as_its_escape(client: Any, backend: Backend) -> None:
    # Nothing the journal keeps may end a listing mid-stream, whatever put it there.
    backend.refuse(
        method="POST", path="/v1/x", query={}, headers={}, raw=b"", status=404, warnings=["\ud800"]
    )
    data = client.get("/_mock/requests").get_data()
    assert json.loads(data)["requests"][0]["warnings"] == ["\ud800"]


def test_processing_delay_holds_events_and_profiles_until_due(
    tc_post: Post, client: Any, backend: Backend
) -> None:
    backend.update_settings({"processing_delay": 30})
    backend.advance_clock(0, freeze=True)
    assert tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}]}).status == 202
    assert tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u"}, {"user_id": "v"}]}).status == 202
    # devices and deletion requests are not held: only what the vendor processes asynchronously
    tc_post(spec.DEVICES.path, {"devices": [{"device_id": "d", "platform": "ios", "user_id": "u"}]})
    assert backend.events(PROJECT) == [] and backend.profiles(PROJECT) == {}
    assert list(backend.devices(PROJECT)) == ["d"]
    view = client.get(f"/_mock/pending?project_id={PROJECT}").json
    assert view["total"] == 3
    assert [(p["kind"], p["items"]) for p in view["pending"]] == [("events", 1), ("profiles", 2)]
    assert all(p["due_at"] > p["accepted_at"] for p in view["pending"])
    assert client.get("/_mock/health").json["pending"] == 2
    backend.advance_clock(29.9)
    assert backend.events(PROJECT) == []
    client.post("/_mock/clock/advance", json={"seconds": 0.1})
    assert [e["name"] for e in client.get(f"/_mock/events?project_id={PROJECT}").json["events"]] == ["e"]
    assert set(backend.profiles(PROJECT)) == {"u", "v"}
    assert client.get(f"/_mock/pending?project_id={PROJECT}").json == {"total": 0, "pending": []}


def test_held_bodies_are_dropped_by_reset_and_kept_by_restore(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"processing_delay": 3600})
    tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}]})
    backend.reset()
    assert backend.pending(PROJECT) == []
    backend.update_settings({"processing_delay": 3600})
    tc_post(spec.EVENTS.path, {"events": [{"name": "kept", "user_id": "u"}]})
    backend.restore()  # the settings go back; what was accepted stays, processed now
    assert backend.pending(PROJECT) == [] and [e["name"] for e in backend.events(PROJECT)] == ["kept"]


def test_held_bodies_count_against_the_stored_bytes_budget(tc_post: Post, backend: Backend) -> None:
    body = {"events": [{"name": "e" * 200, "user_id": "u"}]}
    backend.update_settings({"processing_delay": 3600, "max_stored_bytes": 1000})
    for _ in range(10):
        assert tc_post(spec.EVENTS.path, body).status == 202
    held = backend.pending(PROJECT)
    assert 0 < len(held) < 10  # the oldest were processed early, not held without bound
    assert backend.health()["events"] + len(held) <= 10


def test_a_deletion_after_processing_removes_held_events(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"processing_delay": 10})
    backend.advance_clock(0, freeze=True)
    tc_post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": "u"}]})
    backend.advance_clock(10)
    tc_post(spec.DELETION.path, {"user_id": "u"})
    assert backend.events(PROJECT) == []
