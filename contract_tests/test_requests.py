"""project_id, content type, body shape, methods and paths."""

from __future__ import annotations

import pytest

from contract_tests.bodies import CREATING, VALID
from contract_tests.conftest import Contract
from mockserver import spec


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize("path", spec.PATHS)
@pytest.mark.parametrize(
    ("case", "query"),
    [("missing", []), ("empty", [("project_id", "")]), ("only blanks", [("project_id", "  ")])],
)
def test_project_id_problems_are_400(
    contract: Contract, path: str, case: str, query: list[tuple[str, str]]
) -> None:
    response = contract.post(path, VALID[path], query=query)
    contract.expect(response, 400, case=f"{path}: project_id {case}", field="project_id")


@pytest.mark.evidence("CHOSEN")
def test_repeated_project_id_is_400(contract: Contract) -> None:
    project = contract.target.project_id
    response = contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], query=[("project_id", project)] * 2)
    contract.expect(response, 400, case="project_id given twice", field="project_id")


@pytest.mark.evidence("CONFIRMED")
@pytest.mark.parametrize("path", CREATING)
def test_valid_body_is_202_with_no_content(contract: Contract, path: str) -> None:
    contract.expect(contract.post(path, VALID[path]), 202, case=f"{path}: a valid body")


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("path", spec.PATHS)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_other_content_types_are_415(contract: Contract, path: str, content_type: str | None) -> None:
    headers = {"Authorization": f"Bearer {contract.target.api_key}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = contract.post(path, VALID[path], headers=headers)
    contract.expect(response, 415, case=f"{path}: Content-Type {content_type}", field="Content-Type")


@pytest.mark.evidence("CHOSEN")
def test_json_with_charset_is_accepted(contract: Contract) -> None:
    headers = {**contract.target.headers, "Content-Type": "application/json; charset=utf-8"}
    response = contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers)
    contract.expect(response, 202, case="Content-Type with charset=utf-8")


@pytest.mark.evidence("INFERRED")
@pytest.mark.parametrize("path", spec.PATHS)
@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("malformed JSON", b"{not json"),
        ("an empty body", b""),
        ("a JSON array", b"[]"),
        ("a JSON string", b'"x"'),
        ("JSON null", b"null"),
        ("not UTF-8", b"\xff\xfe{}"),
    ],
)
def test_bodies_that_are_not_json_objects_are_400(
    contract: Contract, path: str, case: str, raw: bytes
) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    response = contract.post(path, raw=raw)
    contract.expect(response, 400, case=f"{path}: {case}", field="body", message=endpoint.bad_request_message)


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(contract: Contract, method: str) -> None:
    response = contract.post(spec.EVENTS.path, method=method)
    contract.expect(response, 405, case=f"{method} on /v1/api/events")


@pytest.mark.evidence("CHOSEN")
def test_unknown_paths_are_404(contract: Contract) -> None:
    response = contract.post("/v1/api/event", VALID[spec.EVENTS.path])
    contract.expect(response, 404, case="POST /v1/api/event (no such path)")
