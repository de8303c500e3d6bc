from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from mockserver import Backend, LiveServer, create_app

KEY = "test-api-key"
PROJECT = "test-project"
AUTH = {"Authorization": f"Bearer {KEY}"}


class Sent:
    """A response from either way in, seen the same way."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def fields(self) -> list[str]:
        return [e["field"] for e in self.json["errors"]]


Post = Callable[..., Sent]


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def client(backend: Backend) -> Any:
    return create_app(backend=backend).test_client()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    with LiveServer() as server:
        yield server


def _test_client_post(client: Any) -> Post:
    def post(
        path: str,
        body: Any = None,
        *,
        query: str | None = f"project_id={PROJECT}",
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        method: str = "POST",
    ) -> Sent:
        hdrs = {**AUTH, "Content-Type": "application/json"} if headers is None else headers
        if data is None and body is not None:
            import json

            data = json.dumps(body, ensure_ascii=False).encode()
        url = path + (f"?{query}" if query else "")
        r = client.open(url, method=method, data=data or b"", headers=hdrs)
        return Sent(r.status_code, r.data, dict(r.headers))

    return post


def _live_post(server: LiveServer) -> Post:
    session = requests.Session()

    def post(
        path: str,
        body: Any = None,
        *,
        query: str | None = f"project_id={PROJECT}",
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        method: str = "POST",
    ) -> Sent:
        hdrs = {**AUTH, "Content-Type": "application/json"} if headers is None else headers
        if data is None and body is not None:
            import json

            data = json.dumps(body, ensure_ascii=False).encode()
        url = server.url + path + (f"?{query}" if query else "")
        r = session.request(method, url, data=data or b"", headers=hdrs)
        return Sent(r.status_code, r.content, dict(r.headers))

    return post


@pytest.fixture(params=["test_client", "live"])
def post(request: pytest.FixtureRequest, backend: Backend) -> Iterator[Post]:
    """POST through Flask's test client and through the live server, sharing ``backend``."""
    if request.param == "test_client":
        yield _test_client_post(create_app(backend=backend).test_client())
    else:
        with LiveServer(backend) as server:
            yield _live_post(server)


@pytest.fixture
def tc_post(client: Any) -> Post:
    """POST through Flask's test client only (for the many validation rows)."""
    return _test_client_post(client)
