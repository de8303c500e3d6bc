"""What the fake remembers: profiles, devices, events, deletion jobs, caps."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver import Backend, spec
from mockserver.clock import LATEST, iso
from mockserver.state import DeletionJob, Store
from tests.conftest import PROJECT, Post


def test_profiles_merge_key_by_key_last_write_wins(tc_post: Post, backend: Backend) -> None:
    tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u", "properties": {"a": 1, "b": 1}}]})
    tc_post(
        spec.PROFILES.path,
        {"profiles": [{"user_id": "u", "properties": {"b": 2, "c": 3, "a": None}}, {"user_id": "v"}]},
    )
    assert backend.profiles(PROJECT) == {"u": {"a": 1, "b": 2, "c": 3}, "v": {}}


def test_state_is_per_project(post: Post, backend: Backend) -> None:
    backend.update_settings({"api_keys": {"test-api-key": ["test-project", "other"]}})
    post(spec.PROFILES.path, {"profiles": [{"user_id": "u"}]}, query="project_id=other")
    assert backend.profiles(PROJECT) == {}
    assert backend.profiles("other") == {"u": {}}


def test_devices_map_and_unmap_users(tc_post: Post, backend: Backend) -> None:
    tc_post(
        spec.DEVICES.path,
        {
            "devices": [
                {
                    "device_id": "d",
                    "platform": "ios",
                    "user_id": "u",
                    "token": "t1",
                    "properties": {"opt_in": True},
                }
            ]
        },
    )
    tc_post(
        spec.DEVICES.path,
        {"devices": [{"device_id": "d", "platform": "ios", "token": "t2", "properties": {"os": "17"}}]},
    )
    assert backend.devices(PROJECT)["d"] == {
        "device_id": "d",
        "platform": "ios",
        "user_id": "u",
        "token": "t2",
        "properties": {"opt_in": True, "os": "17"},
    }
    tc_post(spec.DEVICES.path, {"devices": [{"device_id": "d", "platform": "ios", "remove_user_id": True}]})
    assert backend.devices(PROJECT)["d"]["user_id"] is None


def test_events_keep_order_and_dedupe_by_id(tc_post: Post, backend: Backend) -> None:
    tc_post(
        spec.EVENTS.path,
        {
            "events": [
                {"name": "a", "user_id": "u", "id": "1"},
                {"name": "b", "user_id": "u"},
                {"name": "a-again", "user_id": "u", "id": "1"},
            ]
        },
    )
    assert (
        tc_post(
            spec.EVENTS.path,
            {
                "events": [
                    {"name": "a-third", "user_id": "u", "id": "1"},
                    {"name": "c", "user_id": "u", "id": "2"},
                ]
            },
        ).status
        == 202
    )
    assert [e["name"] for e in backend.events(PROJECT)] == ["a", "b", "c"]
    assert [e["name"] for e in backend.events(PROJECT, limit=2)] == ["b", "c"]


def test_stored_events_are_capped_and_counted(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"max_stored_events": 3})
    tc_post(spec.EVENTS.path, {"events": [{"name": str(i), "user_id": "u", "id": str(i)} for i in range(5)]})
    assert [e["name"] for e in backend.events(PROJECT)] == ["2", "3", "4"]
    assert backend.health()["dropped"]["events"] == 2
    # a dropped event's id no longer blocks a resend
    tc_post(spec.EVENTS.path, {"events": [{"name": "0", "user_id": "u", "id": "0"}]})
    assert [e["name"] for e in backend.events(PROJECT)] == ["3", "4", "0"]


def _seed_user(post: Post, user: str) -> None:
    post(spec.PROFILES.path, {"profiles": [{"user_id": user, "properties": {"a": 1}}]})
    post(spec.EVENTS.path, {"events": [{"name": "e", "user_id": user, "id": f"{user}-1"}]})
    post(spec.DEVICES.path, {"devices": [{"device_id": f"d-{user}", "platform": "web", "user_id": user}]})


def test_deletion_job_completes_immediately_by_default(post: Post, backend: Backend) -> None:
    _seed_user(post, "gone")
    _seed_user(post, "kept")
    assert post(spec.DELETION.path, {"user_id": "gone"}).status == 202
    [job] = backend.deletion_jobs(PROJECT)
    assert job["user_ids"] == ["gone"]
    assert job["status"] == "completed"
    assert job["removed"] == {"profiles": 1, "device_mappings": 1, "events": 1}
    assert job["requested_at"] <= job["completed_at"]
    assert list(backend.profiles(PROJECT)) == ["kept"]
    assert [e["user_id"] for e in backend.events(PROJECT)] == ["kept"]
    assert backend.devices(PROJECT)["d-gone"]["user_id"] is None


def test_manual_deletion_jobs_wait_to_be_completed(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"deletion_jobs": "manual"})
    _seed_user(tc_post, "a")
    _seed_user(tc_post, "b")
    tc_post(spec.BULK_DELETION.path, {"user_ids": ["a", "b", "a"]})
    [job] = backend.deletion_jobs(PROJECT)
    assert (job["status"], job["user_ids"], job["completed_at"], job["removed"]) == (
        "pending",
        ["a", "b"],
        None,
        None,
    )
    assert set(backend.profiles(PROJECT)) == {"a", "b"}
    done = backend.complete_deletion_jobs()
    assert [j["id"] for j in done] == [job["id"]]
    assert backend.deletion_jobs(PROJECT)[0]["removed"] == {"profiles": 2, "device_mappings": 2, "events": 2}
    assert backend.profiles(PROJECT) == {}


def test_delayed_deletion_jobs_follow_the_clock(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"deletion_job_delay": 60})
    backend.advance_clock(0, freeze=True)
    _seed_user(tc_post, "a")
    tc_post(spec.DELETION.path, {"user_id": "a"})
    assert backend.deletion_jobs(PROJECT)[0]["status"] == "pending"
    backend.advance_clock(59)
    assert backend.deletion_jobs(PROJECT)[0]["status"] == "pending"
    assert "a" in backend.profiles(PROJECT)
    backend.advance_clock(1)
    assert backend.deletion_jobs(PROJECT)[0]["status"] == "completed"
    assert backend.profiles(PROJECT) == {}


def test_journal_records_accepted_and_rejected(post: Post, backend: Backend) -> None:
    post(spec.EVENTS.path, {"events": [{"name": "a", "user_id": "u"}]})
    post(spec.EVENTS.path, {"events": [{"name": 1}]})
    post(spec.EVENTS.path, data=b"{broken")
    first, second, third = backend.requests()
    assert (first.status, first.errors, first.json, first.items) == (
        202,
        [],
        {"events": [{"name": "a", "user_id": "u"}]},
        1,
    )
    assert first.query == {"project_id": PROJECT}
    assert first.headers["authorization"] == "Bearer test****"
    assert second.status == 400 and second.json == {"events": [{"name": 1}]}
    assert [e["field"] for e in second.errors] == ["events[0].name", "events[0].user_id"]
    assert third.json is None and third.body == "{broken"
    assert first.id < second.id < third.id


def test_journal_is_bounded_by_entries_and_bytes(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"journal_max_entries": 3})
    for i in range(5):
        tc_post(spec.EVENTS.path, {"events": [{"name": str(i), "user_id": "u"}]})
    assert [r.json["events"][0]["name"] for r in backend.requests()] == ["2", "3", "4"]
    assert backend.health()["dropped"]["journal"] == 2
    backend.update_settings({"journal_max_entries": 100, "journal_max_bytes": 5000})
    big = {"events": [{"name": "x" * 3000, "user_id": "u"}]}
    tc_post(spec.EVENTS.path, big)
    tc_post(spec.EVENTS.path, big)
    assert len(backend.requests()) == 1
    assert backend.health()["journal"]["bytes"] <= 5000


def test_reset_clears_data_journal_and_clock_but_keeps_settings(tc_post: Post, backend: Backend) -> None:
    backend.update_settings({"allow_empty_batches": True})
    _seed_user(tc_post, "a")
    backend.advance_clock(100, freeze=True)
    backend.reset()
    assert backend.profiles(PROJECT) == {} and backend.events(PROJECT) == [] and backend.requests() == []
    assert not backend.health()["clock"]["frozen"]
    assert backend.settings.allow_empty_batches


def test_concurrent_posts_are_each_stored_and_journaled_once() -> None:
    import requests

    from mockserver import LiveServer

    backend = Backend()
    with LiveServer(backend) as server:

        def client(n: int) -> None:
            with requests.Session() as s:
                for i in range(100):
                    r = s.post(
                        f"{server.url}/v1/api/events?project_id={PROJECT}",
                        json={"events": [{"name": "e", "user_id": f"c{n}", "id": f"{n}-{i}"}]},
                        headers={"Authorization": "Bearer test-api-key"},
                    )
                    assert r.status_code == 202

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ids = [e["id"] for e in backend.events(PROJECT)]
    assert len(ids) == 800 == len(set(ids))
    journaled = [r.json["events"][0]["id"] for r in backend.requests()]
    assert sorted(journaled) == sorted(ids)


def test_reset_during_traffic_never_splits_a_request() -> None:
    backend = Backend()
    from mockserver import create_app

    app = create_app(backend=backend)
    stop = threading.Event()

    def traffic() -> None:
        client = app.test_client()
        i = 0
        while not stop.is_set():
            client.post(
                f"/v1/api/events?project_id={PROJECT}",
                json={"events": [{"name": "e", "user_id": "u", "id": str(i)}]},
                headers={"Authorization": "Bearer test-api-key"},
            )
            i += 1

    threads = [threading.Thread(target=traffic) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(200):
            backend.reset()
            with backend._lock:  # a consistent view: every stored event has its journal entry
                stored = {e["id"] for e in backend.events(PROJECT)}
                journaled = {r.json["events"][0]["id"] for r in backend.requests() if r.status == 202}
            assert stored == journaled
    finally:
        stop.set()
        for t in threads:
            t.join()


class _Recording(Store):
    def __init__(self) -> None:
        super().__init__(max_events=100)
        self.completed: list[str] = []

    def complete_job(self, job: DeletionJob, now: float) -> None:
        self.completed.append(job.id)
        super().complete_job(job, now)


def test_due_jobs_complete_earliest_first_once_and_not_after_a_clear() -> None:
    store = _Recording()
    late = store.add_job("p", ["a"], 0.0, 20.0)
    early = store.add_job("p", ["b"], 0.0, 10.0)
    manual = store.add_job("p", ["c"], 0.0, None)
    by_hand = store.add_job("p", ["d"], 0.0, 5.0)
    store.complete_job(by_hand, 1.0)
    store.complete_due_jobs(15.0)
    assert store.completed == [by_hand.id, early.id]
    store.complete_due_jobs(100.0)
    assert store.completed == [by_hand.id, early.id, late.id]
    assert (manual.status, by_hand.completed_at) == ("pending", 1.0)

    store.add_job("p", ["e"], 0.0, 1.0)
    store.clear()
    store.complete_due_jobs(100.0)
    assert store.completed == [by_hand.id, early.id, late.id] and store.projects == {}


def test_a_stored_batch_is_no_object_for_the_garbage_collector() -> None:
    """Each full collection walks every tracked object, and a busy server's collections come
    the more often the more it keeps: a store of a hundred thousand one-event batches must hand
    the collector nothing to walk, before and after a deletion changes a batch."""
    import gc

    store = Store(max_events=100_000, max_bytes=1 << 30)
    raw = b'{"events":[{"name":"e","user_id":"u"},{"name":"e","user_id":"v"}]}'
    store.add_events(PROJECT, raw, ["id-0", None], ["u", "v"])
    gc.collect()
    before = len(gc.get_objects())
    for i in range(1, 2001):
        store.add_events(PROJECT, raw, [f"id-{i}", None], ["u", "v"])
    gc.collect()  # tuples of strings are untracked by the first collection that sees them
    assert len(gc.get_objects()) - before <= 20
    store.add_events(PROJECT, raw, ["id-1", None], ["u", "v"])  # a repeated id: kept once
    assert store.project(PROJECT).event_count == 4003
    store.complete_job(DeletionJob("job", PROJECT, ["u"], 0.0, None), 1.0)
    assert [batch.kept for batch in list(store._batches)[:2]] == [(1,), (1,)]
    assert not any(gc.is_tracked(batch) for batch in store._batches)


def test_a_stored_batch_keeps_no_object_per_user_id() -> None:
    """A batch's user ids are kept as one text: each a string of its own, they lay among every
    request's short-lived objects, and later requests paid for allocating around them."""
    import sys

    users = [f"user-{i}" for i in range(1000)]
    counts = [sys.getrefcount(user) for user in users]
    store = Store(max_events=100_000, max_bytes=1 << 30)
    store.add_events(PROJECT, b'{"events":[]}', [None] * 1000, users)
    assert [sys.getrefcount(user) for user in users] == counts
    (batch,) = store._batches
    assert batch.user_ids() == users


def test_deletion_finds_every_user_id_however_it_is_spelt() -> None:
    """Absent user ids, ids shared across batches, and one no UTF-8 encoder takes (a lone
    surrogate) are all read back from the kept text as they were given."""
    import json

    odd = "a\ud800b"
    first = [{"name": "e", "user_id": u} for u in ("x", odd, "x", "y")] + [{"name": "e"}]
    second = [{"name": "e", "user_id": u} for u in (odd, "z")]
    store = Store(max_events=100, max_bytes=1 << 30)
    for events in (first, second):
        raw = json.dumps({"events": events}).encode()
        store.add_events(PROJECT, raw, [None] * len(events), [e.get("user_id") for e in events])
    store.add_events(PROJECT, b'{"events":[{"name":"e"}]}', [None], None)
    assert [batch.user_ids() for batch in store._batches] == [
        ["x", odd, "x", "y", None],
        [odd, "z"],
        [None],
    ]
    job = store.add_job(PROJECT, [odd, "x"], 0.0, None)
    store.complete_job(job, 0.0)
    assert job.removed == {"profiles": 0, "device_mappings": 0, "events": 4}
    left = [event.get("user_id") for batch in store._batches for event in batch.events()]
    assert left == ["y", None, "z", None]
    # the index built by that deletion follows later batches and the caps
    store.add_events(PROJECT, b'{"events":[{"name":"e","user_id":"y"}]}', [None], ["y"])
    store.complete_job(store.add_job(PROJECT, ["y"], 0.0, None), 0.0)
    left = [event.get("user_id") for batch in store._batches if batch.kept for event in batch.events()]
    assert left == [None, "z", None]


def test_a_deletion_reads_each_batch_it_touches_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's user ids are a text to read: a deletion reads those of each batch holding any
    of its users once, however many of them the batch holds."""
    from mockserver.state import EventBatch

    store = Store(max_events=100, max_bytes=1 << 30)
    store.add_events(PROJECT, b'{"events":[]}', [None] * 4, ["x", "y", "x", "z"])
    store.add_events(PROJECT, b'{"events":[]}', [None], ["w"])
    store.complete_job(store.add_job(PROJECT, ["nobody"], 0.0, None), 0.0)  # builds the index
    reads: list[int] = []
    original = EventBatch.user_ids

    def counted(batch: EventBatch) -> list[str | None]:
        reads.append(batch.seq)
        return original(batch)

    monkeypatch.setattr(EventBatch, "user_ids", counted)
    job = store.add_job(PROJECT, ["x", "y"], 0.0, None)
    store.complete_job(job, 0.0)
    assert job.removed is not None and job.removed["events"] == 3
    assert reads == [store._batches[0].seq]


def test_an_id_is_forgotten_only_with_the_event_that_stored_it() -> None:
    """A batch that repeats an id stored earlier keeps its other events; when it goes, the id
    stays known for as long as the event that first brought it."""
    store = Store(max_events=100, max_bytes=1 << 30)
    raw = b'{"events":[]}'
    assert store.add_events(PROJECT, raw, ["a", None, "b"], None) == 3
    assert store.add_events(PROJECT, raw, ["c", "a", "d", "c"], None) == 2  # a stored, c twice
    assert store.add_events(PROJECT, raw, ["e", None], None) == 2  # nothing repeated
    first, second, third = store._batches
    assert (first.kept, second.kept, third.kept) == (range(3), (0, 2), range(2))
    assert store.project(PROJECT).event_ids == {"a", "b", "c", "d", "e"}
    store._remove_events(second, second.kept)
    assert store.project(PROJECT).event_ids == {"a", "b", "e"}
    store._remove_events(first, first.kept)
    assert store.project(PROJECT).event_ids == {"e"}
    assert store.add_events(PROJECT, raw, ["a", "c", "e"], None) == 2


def test_a_retried_batch_keeps_only_its_events_without_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request sent again whose every id is stored keeps nothing but its events that carry no
    id, and is judged by set operations, not a step per event."""
    store = Store(max_events=100, max_bytes=1 << 30)
    raw = b'{"events":[]}'
    assert store.add_events(PROJECT, raw, ["a", "b", "c"], None) == 3
    monkeypatch.setattr(Store, "_new_events", None)  # the general way is not taken
    assert store.add_events(PROJECT, raw, ["a", "b", "c"], None) == 0
    assert store.add_events(PROJECT, raw, ["b", None, "a", "b", None], None) == 2
    assert [batch.kept for batch in store._batches] == [range(3), (1, 4)]
    assert store.project(PROJECT).event_count == 5 and store.project(PROJECT).event_ids == {"a", "b", "c"}


def test_the_caps_take_the_oldest_events_of_a_large_batch_without_a_pass_over_it() -> None:
    """Once a large batch is the oldest, each small request under the cap removes a few of its
    events: a slice of its range each time, not a new tuple of what is left."""
    import json

    events = [{"name": "e", "user_id": f"u-{i % 3}", "id": f"id-{i}"} for i in range(1000)]
    raw = json.dumps({"events": events}).encode()
    store = Store(max_events=1000, max_bytes=1 << 30)
    store.add_events(PROJECT, raw, [e["id"] for e in events], [e["user_id"] for e in events])
    (large,) = store._batches
    for i in range(3):
        one = json.dumps({"events": [{"name": "e", "user_id": "v", "id": f"new-{i}"}]}).encode()
        store.add_events(PROJECT, one, [f"new-{i}"], ["v"])
    assert large.kept == range(3, 1000)
    stored = [event["id"] for batch in store._batches for event in batch.events()]
    assert stored == [f"id-{i}" for i in range(3, 1000)] + ["new-0", "new-1", "new-2"]
    assert store.project(PROJECT).event_count == 1000 and store.dropped["events"] == 3
    # a dropped id is new again; a kept one is still a repeat
    assert "id-0" not in store.project(PROJECT).event_ids and "id-3" in store.project(PROJECT).event_ids


# --- the journal's timestamps ------------------------------------------------------------------


@given(st.floats(min_value=0, max_value=LATEST) | st.integers(0, 2_000_000_000).map(lambda s: s + 0.9999995))
def test_iso_formats_as_datetime_does(seconds: float) -> None:
    """``iso`` formats each second once and adds the milliseconds; it must read the fraction
    exactly as ``datetime.fromtimestamp`` does, carry included."""
    expected = datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
    assert iso(seconds) == expected.replace("+00:00", "Z")


def test_iso_before_1970_takes_the_general_way() -> None:
    assert iso(-0.5) == "1969-12-31T23:59:59.500Z"
