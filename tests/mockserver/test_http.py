"""API.md's common rules, through Flask's test client and the live server alike."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from mockserver import Backend, spec
from tests.conftest import AUTH, PROJECT, Post

EVENT = {"name": "mkt_login", "user_id": "u-1", "timestamp": "2025-01-17T05:39:22Z"}
VALID = {
    spec.PROFILES.path: {"profiles": [{"user_id": "u-1", "properties": {"mkt_name": "홍길동"}}]},
    spec.EVENTS.path: {"events": [EVENT]},
    spec.DELETION.path: {"user_id": "u-1"},
    spec.BULK_DELETION.path: {"user_ids": ["u-1", "u-2"]},
    spec.DEVICES.path: {"devices": [{"device_id": "idfv:1", "platform": "ios"}]},
}
JSON = {**AUTH, "Content-Type": "application/json"}


@pytest.mark.parametrize("path", spec.PATHS)
def test_valid_body_gets_202_with_empty_body(post: Post, path: str) -> None:
    sent = post(path, VALID[path])
    assert sent.status == 202
    assert sent.body == b""


@pytest.mark.parametrize("path", spec.PATHS)
@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Content-Type": "application/json"}, "required"),
        ({"Authorization": "Basic dTpw", "Content-Type": "application/json"}, "scheme must be 'Bearer'"),
        ({"Authorization": "Token test-api-key", "Content-Type": "application/json"}, "not 'Token'"),
        ({"Authorization": "Bearer", "Content-Type": "application/json"}, "missing after 'Bearer'"),
        ({"Authorization": "Bearer ", "Content-Type": "application/json"}, "missing after 'Bearer'"),
        ({"Authorization": "bearer  ", "Content-Type": "application/json"}, "missing after 'Bearer'"),
        ({"Authorization": "Bearer nope-nope-nope", "Content-Type": "application/json"}, "unknown API key"),
    ],
)
def test_bad_auth_is_401_in_the_envelope(post: Post, path: str, headers: dict[str, str], reason: str) -> None:
    sent = post(path, VALID[path], headers=headers)
    assert sent.status == 401
    assert sent.json["code"] == 401
    assert sent.json["message"] == "Unauthorized request."
    assert sent.json["data"] is None
    assert sent.json["errors"][0]["field"] == "Authorization"
    assert reason in sent.json["errors"][0]["reason"]
    assert sent.headers["WWW-Authenticate"] == "Bearer"  # RFC 6750 §3


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_scheme_name_is_case_insensitive(post: Post, scheme: str) -> None:
    """RFC 7235 §2.1, as common servers read it."""
    headers = {"Authorization": f"{scheme} test-api-key", "Content-Type": "application/json"}
    assert post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers).status == 202


def test_a_key_for_another_project_is_challenged_too(post: Post) -> None:
    sent = post(spec.EVENTS.path, VALID[spec.EVENTS.path], query="project_id=someone-elses")
    assert sent.headers["WWW-Authenticate"] == "Bearer"


def test_key_not_valid_for_the_project_is_401(post: Post) -> None:
    sent = post(spec.EVENTS.path, VALID[spec.EVENTS.path], query="project_id=someone-elses")
    assert sent.status == 401
    assert "not valid for project" in sent.json["errors"][0]["reason"]


def test_unknown_key_is_never_echoed_in_full(post: Post) -> None:
    secret = "sk_live_abcdefghijklmnop"
    sent = post(
        spec.EVENTS.path,
        VALID[spec.EVENTS.path],
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert secret not in sent.body.decode()
    assert "sk_l****" in sent.body.decode()


@pytest.mark.parametrize("path", spec.PATHS)
@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (None, "required"),
        ("project_id=", "must not be empty"),
        ("project_id=%20", "must not be empty"),
        ("other=1", "required"),
        (f"project_id={PROJECT}&project_id=b", "given 2 times"),
    ],
)
def test_project_id_problems_are_400(post: Post, path: str, query: str | None, reason: str) -> None:
    sent = post(path, VALID[path], query=query)
    assert sent.status == 400
    assert sent.json["errors"] == [{"field": "project_id", "reason": sent.json["errors"][0]["reason"]}]
    assert reason in sent.json["errors"][0]["reason"]


def test_auth_is_checked_before_project_id(post: Post) -> None:
    sent = post(
        spec.EVENTS.path, VALID[spec.EVENTS.path], query=None, headers={"Content-Type": "application/json"}
    )
    assert sent.status == 401


def test_project_id_is_checked_before_content_type(post: Post) -> None:
    sent = post(spec.EVENTS.path, data=b"x", query=None, headers={**AUTH, "Content-Type": "text/plain"})
    assert sent.status == 400


def test_content_type_is_checked_before_json(post: Post) -> None:
    sent = post(spec.EVENTS.path, data=b"{not json", headers={**AUTH, "Content-Type": "text/plain"})
    assert sent.status == 415


def test_size_is_checked_before_json(post: Post, backend: Backend) -> None:
    backend.update_settings({"max_body_bytes": 10})
    sent = post(spec.EVENTS.path, data=b"{not json at all}")
    assert sent.status == 413
    assert sent.json["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON; Charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/json;charset=UTF-8",
    ],
)
def test_accepted_content_types(post: Post, content_type: str) -> None:
    sent = post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers={**AUTH, "Content-Type": content_type})
    assert sent.status == 202


def test_the_content_types_passed_at_a_glance_pass_the_full_check() -> None:
    """Each request first asks whether its Content-Type is one clients commonly send, and skips
    the full check if so: each of those must be one the full check passes."""
    from mockserver.pipeline import _JSON_TYPES, _check_content_type

    for content_type in _JSON_TYPES:
        _check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/json; boundary=x",
        "application/jsonx",
    ],
)
def test_other_content_types_are_415(post: Post, content_type: str | None) -> None:
    headers = dict(AUTH) if content_type is None else {**AUTH, "Content-Type": content_type}
    sent = post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers)
    assert sent.status == 415
    assert sent.json["message"] == "Unsupported media type."
    assert sent.json["errors"][0]["field"] == "Content-Type"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "required"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"events"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"events": [{"name": "a", "user_id": "u", "properties": {"x": "\\ud800"}}]}', "not valid JSON"),
    ],
)
def test_malformed_bodies_are_400_naming_the_body(post: Post, data: bytes, reason: str) -> None:
    sent = post(spec.EVENTS.path, data=data)
    assert sent.status == 400
    assert sent.json["errors"][0]["field"] == "body"
    assert reason in sent.json["errors"][0]["reason"]


def test_bulk_deletion_uses_its_own_400_message(post: Post) -> None:
    sent = post(spec.BULK_DELETION.path, {"user_ids": []})
    assert sent.status == 400
    assert sent.json["message"] == "Invalid request."
    assert post(spec.EVENTS.path, {"events": []}).json["message"] == "Invalid request parameters."


def test_gzip_body_is_inflated(post: Post, backend: Backend) -> None:
    data = gzip.compress(b'{"events": [{"name": "a", "user_id": "u"}]}')
    sent = post(spec.EVENTS.path, data=data, headers={**JSON, "Content-Encoding": "gzip"})
    assert sent.status == 202
    assert backend.events(PROJECT) == [{"name": "a", "user_id": "u"}]


def test_gzip_of_several_members_is_one_stream(post: Post, backend: Backend) -> None:
    # RFC 1952: a gzip stream is members one after another, as `cat a.gz b.gz` makes
    data = gzip.compress(b'{"events": [{"name": "a", ') + gzip.compress(b'"user_id": "u"}]}')
    sent = post(spec.EVENTS.path, data=data, headers={**JSON, "Content-Encoding": "gzip"})
    assert sent.status == 202
    assert backend.events(PROJECT) == [{"name": "a", "user_id": "u"}]
    garbage = gzip.compress(b'{"events": [{"name": "a", "user_id": "u"}]}') + b"trailing"
    assert post(spec.EVENTS.path, data=garbage, headers={**JSON, "Content-Encoding": "gzip"}).status == 400


def test_gzip_members_count_together_against_the_limit(post: Post, backend: Backend) -> None:
    backend.update_settings({"max_body_bytes": 20_000})
    member = gzip.compress(b" " * 15_000)
    sent = post(spec.EVENTS.path, data=member + member, headers={**JSON, "Content-Encoding": "gzip"})
    assert sent.status == 413


def test_gzip_bomb_is_413_without_inflating_it_all(post: Post, backend: Backend) -> None:
    backend.update_settings({"max_body_bytes": 20_000})
    bomb = gzip.compress(b'{"events": [' + b" " * 10_000_000 + b"]}")
    assert len(bomb) < 20_000
    sent = post(spec.EVENTS.path, data=bomb, headers={**JSON, "Content-Encoding": "gzip"})
    assert sent.status == 413


def test_broken_gzip_is_400(post: Post) -> None:
    sent = post(spec.EVENTS.path, data=b"\x1f\x8bnot gzip", headers={**JSON, "Content-Encoding": "gzip"})
    assert sent.status == 400
    assert "gzip" in sent.json["errors"][0]["reason"]
    truncated = gzip.compress(b'{"events": []}')[:-12]
    assert post(spec.EVENTS.path, data=truncated, headers={**JSON, "Content-Encoding": "gzip"}).status == 400


@pytest.mark.parametrize("encoding", ["br", "deflate", "compress, gzip"])
def test_other_encodings_are_415(post: Post, encoding: str) -> None:
    sent = post(spec.EVENTS.path, data=b"{}", headers={**JSON, "Content-Encoding": encoding})
    assert sent.status == 415
    assert sent.json["errors"][0]["field"] == "Content-Encoding"


def test_identity_encoding_is_accepted(post: Post) -> None:
    assert (
        post(
            spec.EVENTS.path, VALID[spec.EVENTS.path], headers={**JSON, "Content-Encoding": "identity"}
        ).status
        == 202
    )


def test_body_over_the_limit_is_413(post: Post, backend: Backend) -> None:
    backend.update_settings({"max_body_bytes": 100})
    sent = post(spec.EVENTS.path, data=b'{"events": [' + b" " * 200 + b"]}")
    assert sent.status == 413
    assert sent.json["message"] == "Request body too large."
    assert post(spec.EVENTS.path, VALID[spec.EVENTS.path]).status == 202  # still serving


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_with_allow(post: Post, method: str) -> None:
    sent = post(spec.EVENTS.path, method=method)
    assert sent.status == 405
    assert sent.headers["Allow"] == "POST"
    assert sent.json["code"] == 405


@pytest.mark.parametrize("path", ["/v1/api/event", "/v1/api/events/", "/nothing", "/v2/api/events"])
def test_unknown_paths_are_404_json(post: Post, path: str) -> None:
    sent = post(path, VALID[spec.EVENTS.path])
    assert sent.status == 404
    assert sent.json["code"] == 404
    assert sent.json["errors"][0]["field"] == "path"


def test_a_400_lists_every_violation(post: Post) -> None:
    body = {
        "events": [
            {"name": "ok", "user_id": "u"},
            {"user_id": "u"},
            {"name": "x", "user_id": "u", "timestamp": "2025/01/17 05:39"},
            {"name": 5, "user_id": 7},
        ]
    }
    sent = post(spec.EVENTS.path, body)
    assert sent.status == 400
    assert sent.fields() == ["events[1].name", "events[2].timestamp", "events[3].name", "events[3].user_id"]


def test_a_rejected_request_stores_nothing(post: Post, backend: Backend) -> None:
    assert post(spec.EVENTS.path, {"events": [EVENT]}).status == 202
    sent = post(spec.EVENTS.path, {"events": [{**EVENT, "name": "kept?"}, {"name": "bad"}]})
    assert sent.status == 400
    assert [e["name"] for e in backend.events(PROJECT)] == ["mkt_login"]


@pytest.mark.parametrize(
    ("where", "journaled"),
    [("mockserver.pipeline.validate_body", True), ("mockserver.ingest_front._incoming", False)],
    ids=["in the pipeline", "before it"],
)
def test_a_bug_answers_500_in_the_envelope(
    tc_post: Post,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    where: str,
    journaled: bool,
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(where, broken)
    sent = tc_post(spec.EVENTS.path, VALID[spec.EVENTS.path])
    assert sent.status == 500
    assert sent.json["code"] == 500 and "Traceback" not in sent.body.decode()
    assert "boom" in caplog.text
    assert [e.status for e in backend.requests()] == ([500] if journaled else [])


def test_202_has_no_content_and_no_content_type(post: Post) -> None:
    sent = post(spec.EVENTS.path, VALID[spec.EVENTS.path])
    assert sent.status == 202 and sent.body == b""
    assert "Content-Type" not in sent.headers


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE"])
def test_every_other_method_is_405_and_journaled(post: Post, backend: Backend, method: str) -> None:
    sent = post(spec.EVENTS.path, method=method)
    assert sent.status == 405
    assert sent.headers["Allow"] == "POST"
    if method == "HEAD":
        assert sent.body == b"" and int(sent.headers["Content-Length"]) > 0
    else:
        assert sent.json["errors"][0]["field"] == "method"
    assert backend.requests()[-1].method == method


def test_a_query_byte_that_is_not_utf8_stays_percent_encoded(post: Post) -> None:
    sent = post(spec.EVENTS.path, VALID[spec.EVENTS.path], query="project_id=%FF")
    assert sent.status == 401  # the key is not valid for that project
    assert "'%FF'" in sent.json["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("query", "body"),
    [("", {"user_ids": ["u-1"]}), ("project_id=%20", {"user_ids": ["u-1"]}), ("project_id=test-project", {})],
)
def test_every_400_of_bulk_deletion_says_invalid_request(post: Post, query: str, body: Any) -> None:
    """The vendor's page words that endpoint's 400 "Invalid request.", whatever its cause."""
    sent = post(spec.BULK_DELETION.path, body, query=query)
    assert sent.status == 400
    assert sent.json["message"] == "Invalid request."
