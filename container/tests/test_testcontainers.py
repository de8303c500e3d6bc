"""A fake in a container for a test session, with Testcontainers-python (pip install
testcontainers; Docker, or podman's Docker-compatible socket in DOCKER_HOST)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

IMAGE = os.environ.get("MARKETAP_IMAGE", "marketap-mock")  # the image you built


@pytest.fixture(scope="session")
def marketap_url() -> Iterator[str]:
    """A fake in a container for the whole session: its base URL."""
    container = (
        DockerContainer(IMAGE)
        .with_exposed_ports(8080)
        .with_env("MARKETAP_MOCK_API_KEY", "test-api-key")
        .with_env("MARKETAP_MOCK_PROJECT_ID", "shop")
        .waiting_for(HttpWaitStrategy(8080, "/_mock/health").for_status_code(200))
    )
    with container:
        yield f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8080)}"


@pytest.fixture
def marketap(marketap_url: str) -> str:
    """The same fake, emptied before each test."""
    requests.post(f"{marketap_url}/_mock/reset", json={}, timeout=10).raise_for_status()
    return marketap_url


def test_my_service_sends_a_login_event(marketap: str) -> None:
    answer = requests.post(
        f"{marketap}/v1/api/events?project_id=shop",
        json={"events": [{"name": "mkt_login", "user_id": "u-1"}]},
        headers={"Authorization": "Bearer test-api-key"},
        timeout=10,
    )
    assert answer.status_code == 202
    assert requests.get(f"{marketap}/_mock/events?project_id=shop", timeout=10).json()["total"] == 1


def test_each_test_starts_from_an_empty_fake(marketap: str) -> None:
    assert requests.get(f"{marketap}/_mock/events?project_id=shop", timeout=10).json()["total"] == 0
