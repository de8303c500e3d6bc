"""Authorization: Bearer <api key> on every endpoint; failures are 401 (CONFIRMED)."""

from __future__ import annotations

import pytest

from contract_tests.bodies import VALID
from contract_tests.conftest import Contract
from mockserver import spec

pytestmark = pytest.mark.evidence("CONFIRMED")


@pytest.mark.parametrize("path", spec.PATHS)
@pytest.mark.parametrize(
    ("case", "authorization"),
    [
        ("no Authorization header", None),
        ("Basic scheme", "Basic dTpw"),
        ("Token scheme", "Token {key}"),
        ("Bearer with no key", "Bearer"),
        ("unknown key", "Bearer contract-test-not-a-key"),
    ],
)
def test_bad_authorization_is_401(
    contract: Contract, path: str, case: str, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.format(key=contract.target.api_key)
    response = contract.post(path, VALID[path], headers=headers)
    contract.expect(response, 401, case=f"{path}: {case}", message="Unauthorized request.")


@pytest.mark.evidence("CHOSEN")
@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_the_scheme_name_is_case_insensitive(contract: Contract, scheme: str) -> None:
    """RFC 7235 §2.1: auth scheme names are case-insensitive, as common servers read them."""
    headers = {"Authorization": f"{scheme} {contract.target.api_key}", "Content-Type": "application/json"}
    response = contract.post(spec.EVENTS.path, VALID[spec.EVENTS.path], headers=headers)
    contract.expect(response, 202, case=f"'{scheme}' as the scheme name")


@pytest.mark.evidence("CHOSEN")
def test_a_401_names_the_bearer_scheme(contract: Contract) -> None:
    """RFC 6750 §3: a 401 carries ``WWW-Authenticate: Bearer``."""
    response = contract.post(
        spec.EVENTS.path, VALID[spec.EVENTS.path], headers={"Content-Type": "application/json"}
    )
    contract.expect(response, 401, case="no Authorization header")
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.split(" ", 1)[0].lower() == "bearer", f"WWW-Authenticate: {challenge!r}"


@pytest.mark.evidence("INFERRED")
def test_auth_is_checked_before_project_id(contract: Contract) -> None:
    response = contract.post(
        spec.EVENTS.path, VALID[spec.EVENTS.path], headers={"Content-Type": "application/json"}, query=[]
    )
    contract.expect(response, 401, case="no auth and no project_id: auth first")
