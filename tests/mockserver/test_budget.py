"""Bounded memory: the byte budget of stored data, journal reads that keep nothing, deletion
that costs what it removes, and control inputs that could once break the server."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from mockserver import Backend, create_app
from mockserver import state as state_module
from mockserver.state import PARSED_FACTOR, Store

KEY = "test-api-key"
PROJECT = "test-project"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def events_body(*names: str, user: str = "u-1", pad: int = 0) -> bytes:
    """Events with ``pad`` bytes of properties each, in strings under the length limit."""
    properties = {f"pad{i}": "x" * 50_000 for i in range(pad // 50_000)}
    events = [{"name": n, "user_id": user, "properties": properties} for n in names]
    return json.dumps({"events": events}).encode()


def post(client: Any, path: str, body: Any) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = client.post(
        f"{path}?project_id={PROJECT}", data=data, headers=HEADERS, content_type="application/json"
    )
    return int(r.status_code)


# --- the byte budget ---------------------------------------------------------------------------


def test_large_events_are_dropped_oldest_first_past_the_byte_budget() -> None:
    backend = Backend({"max_stored_bytes": 3_000_000})
    client = create_app(backend=backend).test_client()
    for i in range(10):  # ten 1 MB events: three fit
        assert post(client, "/v1/api/events", events_body(f"e{i}", pad=1_000_000)) == 202
    assert [e["name"] for e in backend.events(PROJECT)] == ["e8", "e9"]
    health = client.get("/_mock/health").json
    assert health["dropped"]["events"] == 8
    assert health["stored_bytes"] <= 3_000_000


def test_profiles_count_against_the_budget_as_their_parsed_size() -> None:
    store = Store(max_events=100, max_bytes=10_000)
    for i in range(20):
        store.update_profiles("p", [{"user_id": f"u{i}", "properties": {"k": "v"}}], cost=100)
    kept = store.projects["p"].profiles
    assert len(kept) == 20 - store.dropped["profiles"]
    assert store.dropped["profiles"] > 0 and "u19" in kept and "u0" not in kept
    assert store.bytes <= 10_000
    assert store.bytes == sum(100 * PARSED_FACTOR + 256 for _ in kept)


def test_a_rewritten_profile_counts_every_write_and_moves_to_the_back() -> None:
    store = Store(max_events=100, max_bytes=1 << 30)
    store.update_profiles("p", [{"user_id": "a", "properties": {"k": 1}}], cost=10)
    store.update_profiles("p", [{"user_id": "b", "properties": {"k": 1}}], cost=10)
    store.update_profiles("p", [{"user_id": "a", "properties": {"j": 2}}], cost=10)
    assert store.bytes == 3 * 10 * PARSED_FACTOR + 2 * 256
    store.max_bytes = store.bytes - 1
    store.update_profiles("p", [{"user_id": "c", "properties": {}}], cost=0)  # triggers the cap
    assert set(store.projects["p"].profiles) == {"a", "c"}  # b was written least recently


def test_oldest_data_goes_first_whatever_its_kind() -> None:
    store = Store(max_events=100, max_bytes=1 << 30)
    store.add_events("p", events_body("old"), [None], ["u-1"])
    store.update_profiles("p", [{"user_id": "u-2", "properties": {}}], cost=10)
    store.add_events("p", events_body("new"), [None], ["u-1"])
    store.max_bytes = store.bytes - 1
    store.add_job("p", ["u-9"], 0.0, None, cost=0)
    assert [e["name"] for e in store.events("p")] == ["new"]
    assert store.dropped == {"events": 1, "profiles": 0, "devices": 0, "deletion_jobs": 0}


def test_a_dropped_pending_job_never_completes() -> None:
    store = Store(max_events=100, max_bytes=1 << 30)
    job = store.add_job("p", ["u"], 0.0, 10.0, cost=100)
    store.max_bytes = 0
    store.update_profiles("p", [], cost=0)
    store._enforce_caps()
    # Its project, which then holds nothing, is forgotten with it.
    assert "p" not in store.projects and store.dropped["deletion_jobs"] == 1
    store.complete_due_jobs(20.0)
    assert job.status == "dropped"


def test_the_budget_setting_is_checked_and_applied_at_runtime() -> None:
    backend = Backend()
    client = create_app(backend=backend).test_client()
    for i in range(4):
        post(client, "/v1/api/events", events_body(f"e{i}", pad=100_000))
    r = client.patch("/_mock/settings", json={"max_stored_bytes": 250_000})
    assert r.status_code == 200
    post(client, "/v1/api/events", events_body("e4", pad=100_000))
    assert [e["name"] for e in backend.events(PROJECT)] == ["e3", "e4"]


# --- deletion costs what it removes --------------------------------------------------------------


def test_deletion_never_parses_stored_events(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = Backend()
    client = create_app(backend=backend).test_client()
    for i in range(50):
        post(client, "/v1/api/events", events_body("a", "b", user=f"u{i % 5}"))
    post(client, "/v1/api/events", events_body("c", user="u-gone"))

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a deletion parsed stored events")

    monkeypatch.setattr(state_module.json, "loads", no_parsing)
    assert post(client, "/v1/api/profile/user/deletion-job", {"user_id": "u3"}) == 202
    assert post(client, "/v1/api/profile/user/deletion-job/bulk", {"user_ids": ["u-gone", "u0"]}) == 202
    monkeypatch.undo()
    removed = [job["removed"]["events"] for job in backend.deletion_jobs(PROJECT)]
    assert removed == [20, 21]
    users = {e["user_id"] for e in backend.events(PROJECT)}
    assert users == {"u1", "u2", "u4"}
    assert len(backend.events(PROJECT)) == 60


def test_deleted_users_leave_no_index_behind() -> None:
    store = Store(max_events=2)
    store.add_events("p", events_body("a", "b"), [None, None], ["x", "y"])
    assert store.projects["p"].user_batches is None  # no deletion yet: no index to keep
    store.complete_job(store.add_job("p", ["nobody"], 0.0, None), 0.0)  # builds the index
    assert set(store.projects["p"].user_batches or {}) == {"x", "y"}
    store.add_events("p", events_body("c", "d"), [None, None], ["x", "x"])  # the cap drops a and b
    assert set(store.projects["p"].user_batches or {}) == {"x"}
    job = store.add_job("p", ["x"], 0.0, None)
    store.complete_job(job, 0.0)
    assert store.projects["p"].user_batches == {} and store.events("p") == []
    assert store.bytes == 2 * 256  # the jobs themselves are all that is left


# --- journal reads ------------------------------------------------------------------------------


def test_reading_the_journal_keeps_no_parsed_body() -> None:
    backend = Backend()
    client = create_app(backend=backend).test_client()
    post(client, "/v1/api/events", events_body("a"))
    post(client, "/v1/api/events", b'{"events": 1}')
    assert client.get("/_mock/requests").status_code == 200
    for entry in backend.requests():
        entry.as_dict()
        # slots and no __dict__: nothing read can be cached on a stored entry
        assert not hasattr(entry, "__dict__")
        assert entry.json is not entry.json or entry.json is None  # parsed anew on each read


def test_journal_pages_with_after_and_limit() -> None:
    client = create_app().test_client()
    for i in range(5):
        post(client, "/v1/api/events", events_body(f"e{i}"))
    ids = [r["id"] for r in client.get("/_mock/requests?after=2").json["requests"]]
    assert ids == [3, 4, 5]
    ids = [r["id"] for r in client.get("/_mock/requests?after=1&limit=2&summary=1").json["requests"]]
    assert ids == [4, 5]
    newest = client.get(f"/_mock/events?project_id={PROJECT}&limit=2").json["events"]
    assert [e["name"] for e in newest] == ["e3", "e4"]


def test_large_reads_are_streamed() -> None:
    client = create_app().test_client()
    post(client, "/v1/api/events", events_body("a", "b"))
    for url in ("/_mock/requests", f"/_mock/events?project_id={PROJECT}"):
        r = client.get(url)
        assert r.is_streamed and "Content-Length" not in r.headers
        json.loads(r.data)


# --- control inputs that once broke the server ----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"deletion_job_delay": math.nan}, "deletion_job_delay"),
        ({"deletion_job_delay": math.inf}, "deletion_job_delay"),
        ({"deletion_job_delay": 1e308}, "deletion_job_delay"),
        ({"rate_limit": "²/s"}, "rate_limit"),
        ({"api_keys": {"k": None}}, "api_keys"),
        ({"api_keys": {"k": 5}}, "api_keys"),
        ({"api_keys": {"k": [1]}}, "api_keys"),
        ({"max_body_bytes": 10**12}, "max_body_bytes"),
        ({"max_batch_items": 1.5}, "max_batch_items"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"max_stored_bytes": -1}, "max_stored_bytes"),
    ],
)
def test_settings_that_would_break_the_server_are_a_400_naming_them(
    change: dict[str, Any], name: str
) -> None:
    backend = Backend()
    client = create_app(backend=backend).test_client()
    before = client.get("/_mock/settings").json
    r = client.patch("/_mock/settings", data=json.dumps(change), content_type="application/json")
    assert r.status_code == 400
    assert name in r.json["errors"][0]["reason"]
    assert client.get("/_mock/settings").json == before  # valid JSON, unchanged
    assert client.get(f"/_mock/deletion-jobs?project_id={PROJECT}").status_code == 200


@pytest.mark.parametrize(
    ("path", "query"),
    [
        *[
            (path, query)
            for path in ("requests", f"events?project_id={PROJECT}")
            for query in ("limit=²", "limit=-1", "limit=1e3", "limit=99999999999999999999")
        ],
        ("requests", "after=٣"),
    ],
)
def test_paging_parameters_must_be_ascii_whole_numbers(path: str, query: str) -> None:
    client = create_app().test_client()
    if True:
        r = client.get(f"/_mock/{path}{'&' if '?' in path else '?'}{query}")
        assert r.status_code == 400, (path, query)
        assert r.json["errors"][0]["field"] in ("limit", "after")


def test_the_clock_stops_at_the_last_second_timestamps_can_name() -> None:
    backend = Backend()
    client = create_app(backend=backend).test_client()
    assert post(client, "/v1/api/events", events_body("kept")) == 202
    r = client.post("/_mock/clock/advance", json={"seconds": 9e8})
    assert r.status_code == 200
    for _ in range(300):  # 9e8 s at a time; past 9999-12-31 every request used to fail
        r = client.post("/_mock/clock/advance", json={"seconds": 9e8})
        if r.status_code == 400:
            break
    assert r.status_code == 400 and "9999-12-31" in r.json["errors"][0]["reason"]
    assert post(client, "/v1/api/events", events_body("after")) == 202
    assert [e["name"] for e in backend.events(PROJECT)] == ["kept", "after"]
    assert len(backend.requests()) == 2  # every stored event is journaled
    assert client.delete("/_mock/clock", json={}).json["frozen"] is False


# --- errors per request --------------------------------------------------------------------------


def _bad_events(n: int) -> bytes:
    return json.dumps({"events": [{"name": "", "user_id": "u", "timestamp": "then"}] * n}).encode()


def test_an_answer_lists_the_first_hundred_errors_and_counts_the_rest() -> None:
    from mockserver.errors import MAX_LISTED

    backend = Backend()
    client = create_app(backend=backend).test_client()
    answer = client.post(
        f"/v1/api/events?project_id={PROJECT}",
        data=_bad_events(1000),
        headers=HEADERS,
        content_type="application/json",
    )
    errors = answer.json["errors"]
    assert answer.status_code == 400 and len(errors) == MAX_LISTED + 1
    assert errors[0]["field"] == "events[0].name"
    # 1,000 items, two errors each: 2,000 found, 100 listed
    assert errors[-1] == {"field": "errors", "reason": "…and 1,900 more, not listed"}
    (entry,) = backend.requests()
    assert entry.errors == errors  # the journal lists what the answer did
    listed = client.get("/_mock/requests").json["requests"][0]
    assert listed["errors"] == errors
    # the count is of every error found, not of the listed ones and the line counting the rest
    assert listed["error_count"] == 2000
    (summary,) = client.get("/_mock/requests?summary=1").json["requests"]
    assert summary["error_count"] == 2000 and len(summary["errors"]) == 3


def test_a_summary_counts_every_warning_of_a_capped_list() -> None:
    from mockserver.errors import MAX_LISTED

    backend = Backend()
    backend.refuse(
        method="POST",
        path="/v1/api/events",
        query={},
        headers={},
        raw=b"",
        status=400,
        warnings=[f"w{n}" for n in range(MAX_LISTED + 50)],
    )
    (entry,) = backend.requests()
    assert len(entry.warnings) == MAX_LISTED + 1
    assert entry.summary()["warning_count"] == MAX_LISTED + 50


def test_error_heavy_bodies_count_against_the_journals_byte_budget() -> None:
    body = _bad_events(1000)
    backend = Backend({"journal_max_bytes": 20 * (len(body) + 512)})
    client = create_app(backend=backend).test_client()
    for _ in range(40):
        assert post(client, "/v1/api/events", body) == 400
    health = backend.health()
    assert health["journal"]["bytes"] <= 20 * (len(body) + 512)
    # Each entry costs its body and its listed errors: fewer than 20 fit.
    assert len(backend.requests()) < 20 and health["dropped"]["journal"] > 20


def test_projects_that_hold_nothing_are_forgotten() -> None:
    backend = Backend({"any_project": True, "max_stored_events": 10, "allow_empty_batches": True})
    client = create_app(backend=backend).test_client()
    for i in range(200):
        r = client.post(
            f"/v1/api/events?project_id=p-{i}",
            data=events_body("mkt_login"),
            headers=HEADERS,
            content_type="application/json",
        )
        assert r.status_code == 202
    # Ten events stay, so ten projects at most; the 190 whose events were dropped are gone.
    assert backend.health()["projects"] == [f"p-{i}" for i in range(190, 200)]
    r = client.post("/v1/api/profile/user?project_id=empty", json={"profiles": []}, headers=HEADERS)
    assert r.status_code == 202 and "empty" not in backend.projects()


def test_the_query_cache_stays_small_and_hands_out_copies() -> None:
    """A query is parsed once and kept, for the next request sends the same; endless distinct
    or long queries keep it at its bound, and no request's pairs are another's."""
    from mockserver import ingest_front

    ingest_front._parsed_query.cache_clear()
    first = ingest_front._parse_query("project_id=p&x=1")
    first.append(("injected", "by a caller"))
    assert ingest_front._parse_query("project_id=p&x=1") == [("project_id", "p"), ("x", "1")]
    long = "project_id=p&pad=" + "x" * ingest_front._CACHED_QUERY
    assert ingest_front._parse_query(long)[1] == ("pad", "x" * ingest_front._CACHED_QUERY)
    assert ingest_front._parsed_query.cache_info().currsize == 1  # the long one is not kept
    for n in range(1000):
        ingest_front._parse_query(f"project_id=p{n}")
    assert ingest_front._parsed_query.cache_info().currsize <= 64


def test_the_journal_counts_its_bytes_right_through_drops_and_removals() -> None:
    """Each entry's cost is worked out once and kept beside it: the total must stay the sum of
    what the entries left cost, through evictions, removals of a project and a clear."""
    from mockserver.journal import _cost

    backend = Backend({"journal_max_entries": 7, "any_project": True})
    client = create_app(backend=backend).test_client()
    journal = backend._journal

    def consistent() -> None:
        assert journal.bytes == sum(_cost(e) for e in journal.entries())

    for n in range(12):
        project = "a" if n % 3 else "b"
        client.post(
            f"/v1/api/events?project_id={project}", data=events_body("e", pad=n * 10), headers=HEADERS
        )
        consistent()
    assert len(journal) == 7 and journal.dropped == 5
    backend.reset("b")
    consistent()
    assert {e.project_id for e in journal.entries()} == {"a"}
    client.post("/v1/api/events?project_id=a", data=events_body("e"), headers=HEADERS)
    consistent()
    backend.reset()
    consistent()
    assert journal.bytes == 0
