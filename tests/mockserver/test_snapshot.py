"""Saved state: GET and PUT /_mock/state, checked whole, under the storage budget."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mockserver import Backend, create_app, spec
from mockserver.snapshot import FORMAT, VERSION, SnapshotError, parse
from tests.conftest import PROJECT, Post

JSON = {"Content-Type": "application/json"}


def _fill(tc_post: Post) -> None:
    assert (
        tc_post(spec.PROFILES.path, {"profiles": [{"user_id": "u-1", "properties": {"tier": "gold"}}]}).status
        == 202
    )
    assert (
        tc_post(
            spec.EVENTS.path,
            {
                "events": [
                    {"name": "mkt_login", "user_id": "u-1", "id": "e-1", "timestamp": "2025-01-17T05:39:22Z"},
                    {"name": "view", "user_id": "u-2", "properties": {"page": "홈"}},
                ]
            },
        ).status
        == 202
    )
    assert (
        tc_post(
            spec.DEVICES.path,
            {"devices": [{"device_id": "d-1", "platform": "ios", "token": "push-token", "user_id": "u-1"}]},
        ).status
        == 202
    )


def _state(client: Any) -> dict[str, Any]:
    response = client.get("/_mock/state")
    assert response.status_code == 200
    state: dict[str, Any] = response.json
    return state


def _put(client: Any, state: Any) -> Any:
    return client.put("/_mock/state", data=json.dumps(state), headers=JSON)


def test_a_saved_state_loads_back_into_a_fresh_fake(tc_post: Post, client: Any) -> None:
    _fill(tc_post)
    client.post("/_mock/clock/advance", json={"seconds": 60})
    state = _state(client)
    assert state["format"] == FORMAT and state["version"] == VERSION
    assert state["clock"]["frozen"] is True
    project = state["projects"][PROJECT]
    assert project["profiles"] == {"u-1": {"tier": "gold"}}
    assert [e["name"] for e in project["events"]] == ["mkt_login", "view"]
    assert project["devices"]["d-1"]["token"] == "push-token"

    fresh = create_app(backend=Backend()).test_client()
    answer = _put(fresh, state)
    assert answer.status_code == 200, answer.json
    assert answer.json["events"] == 2
    assert _state(fresh)["projects"] == state["projects"]
    assert fresh.get("/_mock/clock").json == client.get("/_mock/clock").json
    # A loaded event id is still known: sending it again stores nothing new.
    again = {"events": [{"name": "mkt_login", "user_id": "u-1", "id": "e-1"}]}
    fresh.post(
        f"{spec.EVENTS.path}?project_id={PROJECT}",
        json=again,
        headers={"Authorization": "Bearer test-api-key"},
    )
    assert len(fresh.get("/_mock/events").json["events"]) == 2


def test_deletion_jobs_survive_pending_and_completed(client: Any, tc_post: Post) -> None:
    backend = Backend({"deletion_jobs": "manual"})
    manual = create_app(backend=backend).test_client()
    manual.post(
        f"{spec.DELETION.path}?project_id={PROJECT}",
        json={"user_id": "u-9"},
        headers={"Authorization": "Bearer test-api-key"},
    )
    state = _state(manual)
    [job] = state["projects"][PROJECT]["deletion_jobs"]
    assert job["status"] == "pending"

    other = Backend({"deletion_jobs": "manual"})
    other_client = create_app(backend=other).test_client()
    assert _put(other_client, state).status_code == 200
    completed = other_client.post("/_mock/deletion-jobs/complete", headers=JSON).json["completed"]
    assert [j["id"] for j in completed] == [job["id"]]
    # A new job does not reuse a loaded job's id.
    other_client.post(
        f"{spec.DELETION.path}?project_id={PROJECT}",
        json={"user_id": "u-8"},
        headers={"Authorization": "Bearer test-api-key"},
    )
    ids = [j["id"] for j in other.deletion_jobs(PROJECT)]
    assert len(set(ids)) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.update(format="other"), "format"),
        (lambda s: s.update(version=2), "version"),
        (lambda s: s.update(extra=1), "extra"),
        (lambda s: s["projects"][PROJECT]["events"][1].update(name=""), f"projects.{PROJECT}.events[1].name"),
        (
            lambda s: s["projects"][PROJECT]["events"][0].pop("user_id"),
            f"projects.{PROJECT}.events[0].user_id",
        ),
        (
            lambda s: s["projects"][PROJECT]["profiles"].update({"u-2": []}),
            f"projects.{PROJECT}.profiles.u-2",
        ),
        (
            lambda s: s["projects"][PROJECT]["devices"]["d-1"].update(device_id="d-2"),
            f"projects.{PROJECT}.devices.d-1.device_id",
        ),
        (
            lambda s: s["projects"][PROJECT]["devices"]["d-1"].update(platform=7),
            f"projects.{PROJECT}.devices.d-1.platform",
        ),
        (lambda s: s["clock"].update(now="yesterday"), "clock.now"),
        (
            lambda s: s["projects"][PROJECT].update(deletion_jobs=[{"id": "x"}]),
            f"projects.{PROJECT}.deletion_jobs[0].id",
        ),
        (lambda s: s.update(projects=[]), "projects"),
    ],
)
def test_a_bad_state_is_refused_whole_naming_the_field(
    tc_post: Post, client: Any, change: Any, field: str
) -> None:
    _fill(tc_post)
    good = _state(client)
    bad = copy.deepcopy(good)
    change(bad)
    # What is stored before the bad load must be exactly what is stored after it.
    tc_post(spec.EVENTS.path, {"events": [{"name": "after", "user_id": "u-3"}]})
    before = _state(client)
    answer = _put(client, bad)
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json["errors"]] == [field]
    after = _state(client)
    assert after["projects"] == before["projects"]
    assert len(client.get("/_mock/requests").json["requests"]) == 4


@pytest.mark.parametrize("body", [b"{not json", b"[" * 200_000 + b"]" * 200_000], ids=["broken", "deep"])
def test_a_state_that_is_not_json_is_refused(client: Any, body: bytes) -> None:
    answer = client.put("/_mock/state", data=body, headers=JSON)
    assert answer.status_code == 400
    assert answer.json["errors"][0]["field"] == "body"


def test_the_storage_budget_applies_to_loaded_state(tc_post: Post, client: Any) -> None:
    _fill(tc_post)
    state = _state(client)
    small = create_app(backend=Backend({"max_stored_events": 1})).test_client()
    answer = _put(small, state)
    assert answer.status_code == 413
    assert answer.json["errors"][0]["field"] == "state"
    assert "max_stored_events" in answer.json["errors"][0]["reason"]
    assert _state(small)["projects"] == {}


def test_a_loaded_state_replaces_what_was_stored(tc_post: Post, client: Any) -> None:
    _fill(tc_post)
    before = client.get("/_mock/health").json
    empty = {
        "format": FORMAT,
        "version": VERSION,
        "projects": {"other": {"events": [{"name": "a", "user_id": "u"}]}},
    }
    assert _put(client, empty).status_code == 200
    health = client.get("/_mock/health").json
    assert health["projects"] == ["other"]
    assert health["version"] > before["version"] and health["resets"] == before["resets"] + 1
    assert client.get("/_mock/requests").json["requests"] == []
    assert health["clock"]["frozen"] is False


def test_a_state_holds_no_credentials(tc_post: Post) -> None:
    secret = "sk-live-9f3c2a7b1e"
    backend = Backend({"api_keys": {secret: [PROJECT]}})
    client = create_app(backend=backend, control_token="ctl-secret-77").test_client()
    auth = {"Authorization": "Bearer ctl-secret-77"}
    client.post(
        f"{spec.EVENTS.path}?project_id={PROJECT}",
        json={"events": [{"name": "a", "user_id": "u"}]},
        headers={"Authorization": f"Bearer {secret}"},
    )
    text = client.get("/_mock/state", headers=auth).get_data(as_text=True)
    assert "events" in text and PROJECT in text
    assert secret not in text and "ctl-secret-77" not in text
    # The control token guards the state like every other control call.
    assert client.get("/_mock/state").status_code == 401
    assert client.put("/_mock/state", data=text, headers=JSON).status_code == 401


def test_a_foreign_page_cannot_load_state(client: Any) -> None:
    state = {"format": FORMAT, "version": VERSION, "projects": {}}
    answer = client.put(
        "/_mock/state", data=json.dumps(state), headers={**JSON, "Origin": "https://evil.example"}
    )
    assert answer.status_code == 403
    # A form post (no JSON content type) is refused before it is read.
    form = client.put("/_mock/state", data=json.dumps(state), headers={"Content-Type": "text/plain"})
    assert form.status_code == 415


def test_parse_raises_with_field_and_status() -> None:
    with pytest.raises(SnapshotError) as caught:
        parse({"format": FORMAT, "version": VERSION, "clock": {"frozen": "yes"}}, Backend().settings)
    assert caught.value.field == "clock.frozen" and caught.value.status == 400
