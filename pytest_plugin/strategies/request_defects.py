"""Requests with a valid body and one defect in their method, headers or query."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from mockserver.settings import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from pytest_plugin.strategies.cases import InvalidRequest
from pytest_plugin.strategies.valid import _endpoint, valid_bodies

__all__ = ["invalid_requests"]


def _set_header(headers: dict[str, str], name: str, value: str | None) -> None:
    """Set ``name``, or leave it out when ``value`` is None."""
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = value


def invalid_requests(
    path: str, *, api_key: str = DEFAULT_API_KEY, project_id: str = DEFAULT_PROJECT_ID
) -> st.SearchStrategy[InvalidRequest]:
    """Requests with a valid body and one defect elsewhere: missing or wrong auth (401), missing,
    empty or repeated ``project_id`` (400), a wrong content type (415), a wrong method (405).

    ``api_key``/``project_id`` are what the target accepts. Shrinks towards a missing header."""
    endpoint = _endpoint(path)
    good_headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    good_query = [("project_id", project_id)]

    def make(body: Any, defect: tuple[str, Any]) -> InvalidRequest:
        kind, value = defect
        headers, query, method = dict(good_headers), list(good_query), "POST"
        if kind == "auth":
            _set_header(headers, "Authorization", value)
            return InvalidRequest(
                method, endpoint.path, query, headers, body, "Authorization", f"Authorization {value!r}", 401
            )
        if kind == "project":
            query = value
            return InvalidRequest(
                method, endpoint.path, query, headers, body, "project_id", f"query {value!r}", 400
            )
        if kind == "content_type":
            _set_header(headers, "Content-Type", value)
            return InvalidRequest(
                method, endpoint.path, query, headers, body, "Content-Type", f"Content-Type {value!r}", 415
            )
        return InvalidRequest(value, endpoint.path, query, headers, body, "method", f"method {value}", 405)

    auth = st.one_of(
        st.just(None),
        # the scheme name is case-insensitive (RFC 7235): 'bearer KEY' is no defect
        st.sampled_from(["Basic dTpw", f"Bearer{api_key}", f"Token {api_key}", "Bearer", "bearer", api_key]),
        st.from_regex(r"[A-Za-z0-9._~+/-]{1,60}", fullmatch=True).map(
            lambda k: f"Bearer {k if k != api_key else k + 'x'}"
        ),
    )
    projects = st.sampled_from(
        [
            [],
            [("project_id", "")],
            [("project_id", "  ")],
            [("other", project_id)],
            [("project_id", project_id), ("project_id", project_id)],
        ]
    )
    content_types = st.sampled_from(
        [
            None,
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin-1",
            "multipart/form-data",
        ]
    )
    defects = st.one_of(
        auth.map(lambda v: ("auth", v)),
        projects.map(lambda v: ("project", v)),
        content_types.map(lambda v: ("content_type", v)),
        st.sampled_from(["GET", "PUT", "PATCH", "DELETE"]).map(lambda v: ("method", v)),
    )
    return st.builds(make, valid_bodies(path, max_size=3), defects)
