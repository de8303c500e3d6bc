"""The in-process routes hand an ingestion request to the ingestion front without a WSGI
environ. Each request here is run both ways, each with a backend of its own: the answer, the
journal and the stored events must be the same."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from mockserver import Backend, create_app
from pytest_plugin.inprocess import Answer, call_app
from tests.mockserver.test_asgi_direct import BAD, EVENT, HEAVY, KEY, LIMIT, SECRET, journal

URL = "https://event.marketap.io/v1/api/events?project_id=test-project"
AUTH = ("Authorization", f"Bearer {KEY}")
JSON = ("Content-Type", "application/json")

CASES: dict[str, dict[str, Any]] = {
    "valid": {},
    "invalid items": {"body": BAD},
    "no key": {"headers": [JSON]},
    "a wrong key, a secret echoed": {
        "headers": [AUTH, JSON, ("X-Api-Key", SECRET)],
        "url": f"https://event.marketap.io/v1/api/events?project_id=p&token={SECRET}",
    },
    "a repeated header": {"headers": [AUTH, JSON, ("X-Trace", "a"), ("X-Trace", "b")]},
    "underscores in a name": {"headers": [AUTH, JSON, ("x_api_key", SECRET), ("X-Api-Key", "second")]},
    "an empty content type": {"headers": [AUTH, ("Content-Type", "")]},
    "a charset": {"headers": [AUTH, ("Content-Type", "application/json; charset=utf-8")]},
    "a heavy body": {"body": HEAVY},
    "a body past the limit": {"body": b" " * (LIMIT + 10)},
    "gzip": {"headers": [AUTH, JSON, ("Content-Encoding", "gzip")], "body": gzip.compress(EVENT)},
    "a gzip bomb": {
        "headers": [AUTH, JSON, ("Content-Encoding", "gzip")],
        "body": gzip.compress(b" " * (LIMIT * 4)),
    },
    "an odd query": {"url": "https://event.marketap.io/v1/api/events?project_id=test-project&x=%FF%FE&&z"},
    "the project twice": {"url": URL + "&project_id=other"},
    "no project": {"url": "https://event.marketap.io/v1/api/events"},
    "GET": {"method": "GET", "body": b""},
    "HEAD": {"method": "HEAD", "body": b""},
    "no such path": {"url": "https://event.marketap.io/v1/api/nope"},
    "a path outside the API": {"url": "https://event.marketap.io/favicon.ico"},
    "a doubled slash": {"url": "https://event.marketap.io//v1/api/events?project_id=test-project"},
    "an escaped path": {"url": "https://event.marketap.io/v1/api/%65vents?project_id=test-project"},
    "a status fault": {"fault": {"status": 503, "retry_after": 2}},
    "a dropped connection": {"fault": {"drop": True}},
    "a latency": {"fault": {"latency_ms": 20}},
    "a latency and a drop": {"fault": {"latency_ms": 20, "drop": True}},
}


def run(case: dict[str, Any], *, direct: bool) -> tuple[Answer, list[dict[str, Any]], list[Any]]:
    backend = Backend({"max_body_bytes": LIMIT, "api_keys": {KEY: ["test-project"], SECRET: ["p"]}})
    if case.get("fault"):
        backend.add_fault(case["fault"])
    app = create_app(backend=backend)
    answer = call_app(
        app,
        case.get("method", "POST"),
        case.get("url", URL),
        case.get("headers", [AUTH, JSON]),
        case.get("body", EVENT),
        direct=direct,
    )
    return answer, journal(backend), backend.events("test-project")


@pytest.mark.parametrize("name", CASES)
def test_straight_to_the_ingestion_front_is_the_same_as_through_wsgi(name: str) -> None:
    direct, through_wsgi = (run(CASES[name], direct=way) for way in (True, False))
    assert direct == through_wsgi


def test_the_cases_reach_what_they_name() -> None:
    """Without this, a case could compare two refusals of something else."""
    assert run(CASES["valid"], direct=True)[0].status == 202
    assert len(run(CASES["a heavy body"], direct=True)[2]) == 1000
    assert run(CASES["a dropped connection"], direct=True)[0].dropped
    assert run(CASES["a latency"], direct=True)[0].delay == pytest.approx(0.02)
    assert run(CASES["an escaped path"], direct=True)[0].status == 202
    assert run(CASES["gzip"], direct=True)[0].status == 202


def test_the_direct_way_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without it, the comparison above would compare the WSGI way with itself."""
    from mockserver import asgi_front

    def no_environ(scope: Any) -> Any:
        raise AssertionError("an environ was built")

    monkeypatch.setattr(asgi_front, "wsgi_environ", no_environ)
    assert run(CASES["valid"], direct=True)[0].status == 202
    with pytest.raises(AssertionError, match="an environ was built"):
        run(CASES["valid"], direct=False)
    control = {"url": "https://event.marketap.io/_mock/health", "method": "GET", "body": b""}
    with pytest.raises(AssertionError, match="an environ was built"):
        run(control, direct=True)  # the control plane is Flask's, through WSGI


def test_a_bug_is_answered_in_the_envelope_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver import pipeline

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pipeline, "handle", broken)
    direct, through_wsgi = (run(CASES["valid"], direct=way)[0] for way in (True, False))
    assert direct == through_wsgi
    assert direct.status == 500
    assert json.loads(direct.body)["errors"][0]["field"] == "request"
