"""The image as a service: what a team outside Python gets from it.

Run by ``.ci/container`` (which builds the image and names it in ``MARKETAP_IMAGE``); not
part of the main suite, which runs where no container engine is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

IMAGE = os.environ.get("MARKETAP_IMAGE", "")
#: the engine and the options every container needs on the CI machines (see .ci/container)
ENGINE = os.environ.get("MARKETAP_ENGINE", "podman --runtime runc").split()
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
AUTH = {"Authorization": "Bearer test-api-key"}
EVENTS = "/v1/api/events?project_id=test-project"
BODY = {"events": [{"name": "mkt_login", "user_id": "u-1"}]}


@pytest.fixture(scope="session", autouse=True)
def _image() -> None:
    assert IMAGE, "set MARKETAP_IMAGE to the image to test (.ci/container does)"


def engine(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ENGINE, *args], capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class Running:
    name: str
    url: str

    def logs(self) -> str:
        done = engine("logs", self.name)
        return done.stdout + done.stderr


def _wait_healthy(url: str, name: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_mock/health", headers=headers, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{name} did not answer /_mock/health: {engine('logs', name).stdout}")


@pytest.fixture
def start() -> Iterator[object]:
    """Start a container of the image (detached, port 8080 published on loopback); each is
    removed after the test."""
    names: list[str] = []

    def run(*options: str, token: str | None = None) -> Running:
        name = f"marketap-mock-test-{uuid.uuid4().hex[:8]}"
        names.append(name)
        done = engine(
            "run", "-d", "--name", name, *LIMITS, "--health-interval", "disable",
            "-p", "127.0.0.1::8080", *options, IMAGE,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        port = engine("port", name, "8080").stdout.strip().rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, name, token)
        return Running(name, url)

    yield run
    for name in names:
        engine("rm", "-f", "-t", "0", name)


def test_the_image_serves_events_and_its_health_check_passes(start: object) -> None:
    fake: Running = start()  # type: ignore[operator]
    assert requests.post(fake.url + EVENTS, json=BODY, headers=AUTH, timeout=10).status_code == 202
    assert requests.get(f"{fake.url}/_mock/events", timeout=10).json()["events"] == BODY["events"]
    assert engine("healthcheck", "run", fake.name).returncode == 0
    user = engine("exec", fake.name, "id", "-u").stdout.strip()
    assert user not in ("", "0")


def test_its_labels_say_what_it_is() -> None:
    labels = json.loads(engine("image", "inspect", "--format", "{{json .Labels}}", IMAGE).stdout)
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    from mockserver import __version__

    assert labels["org.opencontainers.image.version"] == __version__


def test_the_contract_suite_passes_against_the_container(start: object) -> None:
    fake: Running = start()  # type: ignore[operator]
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "contract", "--url", fake.url, "--", "-q", "-p", "no:randomly"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_a_sibling_container_reaches_it_by_its_service_name(start: object) -> None:
    network = f"marketap-mock-test-{uuid.uuid4().hex[:8]}"
    assert engine("network", "create", network).returncode == 0
    try:
        start("--network", network, "--network-alias", "marketap", "-e", "MARKETAP_MOCK_ALLOW_HOST=marketap")  # type: ignore[operator]
        client = (
            "import json, urllib.request\n"
            f"request = urllib.request.Request('http://marketap:8080{EVENTS}',"
            f" data=json.dumps({BODY!r}).encode(),"
            f" headers={{**{AUTH!r}, 'Content-Type': 'application/json'}})\n"
            "print(urllib.request.urlopen(request, timeout=10).status)\n"
        )
        done = engine(
            "run", "--rm", *LIMITS, "--network", network, "--entrypoint", "python3", IMAGE, "-c", client
        )
        assert done.stdout.strip() == "202", done.stderr
    finally:
        engine("network", "rm", "-f", network)


def test_a_seeded_state_is_visible_and_sigterm_saves_it_within_5_s(start: object, tmp_path: Path) -> None:
    tmp_path.chmod(0o777)  # the image's user is not root
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "format": "marketap-mock-state",
                "version": 1,
                "projects": {"test-project": {"profiles": {"demo-user": {"tier": "gold"}}}},
            }
        )
    )
    seed.chmod(0o644)
    fake: Running = start(  # type: ignore[operator]
        "-v", f"{tmp_path}:/data:Z",
        "-e", "MARKETAP_MOCK_LOAD=/data/seed.json",
        "-e", "MARKETAP_MOCK_SAVE=/data/saved.json",
    )  # fmt: skip
    profiles = requests.get(f"{fake.url}/_mock/profiles", timeout=10).json()["profiles"]
    assert profiles == {"demo-user": {"tier": "gold"}}
    assert requests.post(fake.url + EVENTS, json=BODY, headers=AUTH, timeout=10).status_code == 202
    began = time.monotonic()
    # podman stop sends the image's STOPSIGNAL (SIGTERM) and kills only after the timeout.
    done = engine("stop", "-t", "30", fake.name)
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert took < 5, f"SIGTERM took {took:.1f} s to stop it"
    status = engine("inspect", "--format", "{{.State.ExitCode}}", fake.name).stdout.strip()
    assert status == "0", fake.logs()
    saved = json.loads((tmp_path / "saved.json").read_text())
    project = saved["projects"]["test-project"]
    assert project["profiles"] == {"demo-user": {"tier": "gold"}}
    assert project["events"] == BODY["events"]
    print(f"SIGTERM to exit: {took:.2f} s")


def test_the_environment_configures_it_and_a_secret_stays_out_of_sight(start: object) -> None:
    fake: Running = start(  # type: ignore[operator]
        "-e", "MARKETAP_MOCK_API_KEY=sk-container-4f9a1c",
        "-e", "MARKETAP_MOCK_PROJECT_ID=shop",
        "-e", "MARKETAP_MOCK_CONTROL_TOKEN=ctl-container-77e1",
        "-e", "MARKETAP_MOCK_MAX_BATCH_ITEMS=2",
        token="ctl-container-77e1",
    )  # fmt: skip
    control = {"Authorization": "Bearer ctl-container-77e1"}
    events = "/v1/api/events?project_id=shop"
    auth = {"Authorization": "Bearer sk-container-4f9a1c"}
    three = {"events": [{"name": "e", "user_id": "u"}] * 3}
    assert requests.post(fake.url + events, json=three, headers=auth, timeout=10).status_code == 400
    assert requests.post(fake.url + EVENTS, json=BODY, headers=AUTH, timeout=10).status_code == 401
    assert requests.get(f"{fake.url}/_mock/health", timeout=10).status_code == 401
    # The health check sends the token from the environment.
    assert engine("healthcheck", "run", fake.name).returncode == 0
    state = requests.get(f"{fake.url}/_mock/state", headers=control, timeout=10).text
    settings = requests.get(f"{fake.url}/_mock/settings", headers=control, timeout=10).text
    journal = requests.get(f"{fake.url}/_mock/requests", headers=control, timeout=10).text
    for text in (state, settings, journal, fake.logs()):
        assert "ctl-container-77e1" not in text
    assert "sk-container-4f9a1c" not in state + settings
