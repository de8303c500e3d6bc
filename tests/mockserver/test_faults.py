"""Faults, latency, rate limits and the clock: the same in the live and in-process fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from mockserver import Backend, LiveServer, SettingsError, create_app, spec
from mockserver.faults import Faults, parse_rate_limit
from pytest_plugin.inprocess import InProcess
from tests.conftest import AUTH, PROJECT

BODY = {"events": [{"name": "e", "user_id": "u"}]}


class Way:
    """One way in: ``post`` answers (status, headers) or raises what the client raises on a drop."""

    def __init__(self, name: str, backend: Backend) -> None:
        self.name = name
        self.backend = backend
        self.dropped: type[Exception] = Exception

    def post(self, path: str = spec.EVENTS.path, project: str = PROJECT) -> tuple[int, dict[str, str]]:
        raise NotImplementedError


@pytest.fixture(params=["live", "inprocess"])
def way(request: pytest.FixtureRequest) -> Iterator[Way]:
    backend = Backend({"api_keys": {"test-api-key": ["test-project", "other"]}})
    w = Way(request.param, backend)
    if request.param == "live":
        with LiveServer(backend) as server, requests.Session() as session:

            def post(path: str = spec.EVENTS.path, project: str = PROJECT) -> tuple[int, dict[str, str]]:
                r = session.post(
                    f"{server.url}{path}?project_id={project}", json=BODY, headers=AUTH, timeout=10
                )
                return r.status_code, r.headers  # type: ignore[return-value]  # case-insensitive

            w.post = post  # type: ignore[method-assign]
            w.dropped = requests.ConnectionError
            yield w
    else:
        router = InProcess(create_app(backend=backend), spec.BASE_URL, ("httpx",)).start()
        client = httpx.Client()
        try:

            def post(path: str = spec.EVENTS.path, project: str = PROJECT) -> tuple[int, dict[str, str]]:
                r = client.post(f"{spec.BASE_URL}{path}?project_id={project}", json=BODY, headers=AUTH)
                return r.status_code, r.headers  # type: ignore[return-value]  # case-insensitive

            w.post = post  # type: ignore[method-assign]
            w.dropped = httpx.RemoteProtocolError
            yield w
        finally:
            client.close()
            router.stop()


def test_status_rule_fires_times_then_stops(way: Way) -> None:
    way.backend.add_fault({"path": spec.EVENTS.path, "status": 503, "times": 2, "retry_after": 5})
    first, second, third = way.post(), way.post(), way.post()
    assert (first[0], first[1]["Retry-After"]) == (503, "5")
    assert second[0] == 503 and third[0] == 202
    entries = way.backend.requests()
    assert [(e.status, e.faulted) for e in entries] == [(503, True), (503, True), (202, False)]
    assert entries[0].errors[0]["field"] == "fault"
    assert len(way.backend.events(PROJECT)) == 1  # the faulted ones stored nothing
    assert way.backend.fault_rules()[0]["fired"] == 2


def test_rules_match_path_and_project(way: Way) -> None:
    way.backend.add_fault({"path": spec.PROFILES.path, "status": 500})
    way.backend.add_fault({"project_id": "other", "status": 502})
    assert way.post()[0] == 202
    assert way.post(project="other")[0] == 502
    assert way.post(path=spec.PROFILES.path)[0] in (400, 500)
    assert way.post(path=spec.PROFILES.path)[0] == 500


def test_latency_rule_delays_the_answer(way: Way) -> None:
    way.backend.add_fault({"latency_ms": 200, "times": 1})
    start = time.monotonic()
    assert way.post()[0] == 202  # latency alone does not fail the request
    assert time.monotonic() - start >= 0.2
    assert way.backend.requests()[0].faulted is False


def test_drop_rule_closes_the_connection(way: Way) -> None:
    way.backend.add_fault({"drop": True, "times": 1})
    with pytest.raises(way.dropped):
        way.post()
    assert way.post()[0] == 202  # and the fake keeps serving
    assert [(e.status, e.faulted) for e in way.backend.requests()] == [(0, True), (202, False)]
    assert len(way.backend.events(PROJECT)) == 1


def test_probability_with_a_seed_repeats(way: Way) -> None:
    def pattern() -> list[int]:
        way.backend.reset()
        way.backend.add_fault({"status": 503, "probability": 0.5, "seed": 42})
        return [way.post()[0] for _ in range(20)]

    first, second = pattern(), pattern()
    assert first == second
    assert 3 <= first.count(503) <= 17


def test_rate_limit_answers_429_and_refills_on_the_clock(way: Way) -> None:
    way.backend.update_settings({"rate_limit": "2/m"})
    way.backend.advance_clock(0, freeze=True)
    assert [way.post()[0] for _ in range(2)] == [202, 202]
    status, headers = way.post()
    assert (status, headers["Retry-After"]) == (429, "30")
    assert way.backend.requests()[-1].errors[0]["field"] == "Authorization"
    way.backend.advance_clock(30)
    assert way.post()[0] == 202


def test_control_plane_for_faults() -> None:
    client = create_app().test_client()
    r = client.post("/_mock/faults", json={"path": spec.EVENTS.path, "status": 503, "times": 2})
    assert r.status_code == 201 and r.json["fault"]["id"] == 1
    client.post(f"{spec.EVENTS.path}?project_id={PROJECT}", json=BODY, headers=AUTH)
    [rule] = client.get("/_mock/faults").json["faults"]
    assert (rule["fired"], rule["times"]) == (1, 1)
    assert client.delete("/_mock/faults", json={}).json == {"faults": []}
    client.post("/_mock/faults", json={"status": 500})
    client.post("/_mock/reset", json={})
    assert client.get("/_mock/faults").json == {"faults": []}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"status": 200}, "4xx or 5xx"),
        ({"path": "/nope", "status": 500}, "path must be one of"),
        ({"times": 0, "status": 500}, "times must be"),
        ({"probability": 2, "status": 500}, "probability must be"),
        ({}, "needs a status"),
        ({"status": 500, "drop": True}, "not both"),
        ({"status": 500, "colour": "red"}, "unknown fault field"),
        ({"latency_ms": -1}, "latency_ms must be"),
        ([1], "JSON object"),
    ],
)
def test_bad_rules_are_400(rule: Any, message: str) -> None:
    client = create_app().test_client()
    r = client.post("/_mock/faults", json=rule)
    assert r.status_code == 400
    assert message in r.json["errors"][0]["reason"]


def test_rate_limit_setting_is_checked() -> None:
    assert parse_rate_limit("10/s") == (10, 1.0) and parse_rate_limit("600/m") == (600, 60.0)
    for bad in ("10", "ten/s", "0/s", "10/d"):
        with pytest.raises(SettingsError):
            Backend({"rate_limit": bad})
    assert Backend({"rate_limit": "none"}).settings.rate_limit is None


def test_deletion_job_delay_through_the_control_plane() -> None:
    backend = Backend()
    client = create_app(backend=backend).test_client()
    client.patch("/_mock/settings", json={"deletion_job_delay": 60})
    client.post(
        f"{spec.PROFILES.path}?project_id={PROJECT}", json={"profiles": [{"user_id": "u"}]}, headers=AUTH
    )
    client.post(f"{spec.DELETION.path}?project_id={PROJECT}", json={"user_id": "u"}, headers=AUTH)
    client.post("/_mock/clock/advance", json={"seconds": 59})
    assert client.get("/_mock/deletion-jobs").json["deletion_jobs"][0]["status"] == "pending"
    assert client.get("/_mock/profiles").json["profiles"] == {"u": {}}
    client.post("/_mock/clock/advance", json={"seconds": 1})
    # due by the time the call that moved the clock returned
    assert backend._store.projects[PROJECT].jobs[0].status == "completed"
    assert client.get("/_mock/profiles").json["profiles"] == {}


def test_a_later_failing_rule_keeps_its_turn() -> None:
    faults = Faults()
    faults.add({"status": 500, "times": 1})
    faults.add({"status": 503, "times": 1})
    assert [faults.outcome(spec.EVENTS.path, None).status for _ in range(3)] == [500, 503, None]


def test_cli_chaos_flags_make_rules() -> None:
    from mockserver.cli import build_parser, chaos_rules

    ns = build_parser().parse_args(
        ["serve", "--fail-rate", "0.3", "--fail-status", "502", "--latency", "50", "--seed", "7"]
    )
    assert chaos_rules(ns) == [{"status": 502, "probability": 0.3, "seed": 7}, {"latency_ms": 50.0}]
    assert chaos_rules(build_parser().parse_args(["serve"])) == []
